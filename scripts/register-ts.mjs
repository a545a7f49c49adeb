// Usage: node --import ./scripts/register-ts.mjs file.ts
import { register } from 'node:module';
import 'reflect-metadata';

register('./ts-hooks.mjs', import.meta.url);
