import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear. */
const REDACT_PATHS = [
  'password',
  'passphrase',
  'secret',
  'token',
  'authorization',
  'apiKey',
  '*.password',
  '*.passphrase',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.apiKey',
  'headers.authorization',
  'req.headers.authorization',
];

export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'distcron' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
