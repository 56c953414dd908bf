// dynalite and asl-validator ship no type declarations; these cover what the project calls.
declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}

declare module 'asl-validator' {
  interface AslValidationResult {
    isValid: boolean;
    errors: Array<{ message?: string; [key: string]: unknown }>;
  }
  export default function aslValidator(definition: unknown, options?: Record<string, unknown>): AslValidationResult;
}
