import { ConsoleLogger, type LoggerService } from '@nestjs/common';

/**
 * The apps' logger during the demo: keeps Nest's warnings and errors out of the transcript, counts
 * them and keeps the first few for the end; with `verbose` it prints them as Nest would.
 */
export class QuietLogger implements LoggerService {
  readonly kept: string[] = [];
  count = 0;
  private readonly console?: ConsoleLogger;

  constructor(verbose: boolean) {
    if (verbose) this.console = new ConsoleLogger({ logLevels: ['warn', 'error', 'fatal'] });
  }

  log(): void {}

  warn(message: unknown, ...rest: unknown[]): void {
    this.keep('warn', message, rest);
    this.console?.warn(message, ...rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.keep('error', message, rest);
    this.console?.error(message, ...rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.keep('fatal', message, rest);
    this.console?.fatal(message, ...rest);
  }

  private keep(level: string, message: unknown, rest: unknown[]): void {
    this.count++;
    if (this.kept.length >= 5) return;
    // Nest passes the context last (after a stack for errors); the first line says enough.
    const context = rest.length > 0 ? String(rest[rest.length - 1]) : '';
    const text = message instanceof Error ? message.message : String(message);
    this.kept.push(`${level} ${context ? `[${context}] ` : ''}${text.split('\n')[0]}`);
  }
}
