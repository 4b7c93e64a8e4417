// tsx is resolved from this file, not from the working directory: Nix runs the
// hooks from wherever it likes.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
