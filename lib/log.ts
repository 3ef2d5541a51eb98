// Shared by every part of sealtrail (lib/ imports nothing else from the project).
// Structured JSON logs on stderr, one object per line.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function stderrLogger(minLevel: LogLevel = (process.env.SEALTRAIL_LOG_LEVEL as LogLevel) || 'info'): LogFn {
  const min = ORDER[minLevel] ?? ORDER.info;
  return (level, msg, fields) => {
    if (ORDER[level] < min) return;
    const rec: Record<string, unknown> = { ts: new Date().toISOString(), level, msg, ...fields };
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = { message: v.message, code: (v as { code?: unknown }).code };
    process.stderr.write(JSON.stringify(rec) + '\n');
  };
}
