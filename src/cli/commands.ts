import { catalogCommand } from './catalog-command.js';
import type { CliCommand } from './command.js';
import { deadCommand } from './dead-command.js';
import { putCommand } from './put-command.js';
import { replayCommand } from './replay-command.js';
import { statsCommand } from './stats-command.js';
import { streamsCommand } from './streams-command.js';
import { tailCommand } from './tail-command.js';
import { transformCommand } from './transform-command.js';

/**
 * Every subcommand, in the order `sluice --help` lists them. A new subcommand is one file that
 * exports a {@link CliCommand} made with `defineCommand`, and one line here.
 */
export const COMMANDS: readonly CliCommand[] = [
  replayCommand,
  deadCommand,
  transformCommand,
  catalogCommand,
  streamsCommand,
  putCommand,
  statsCommand,
  tailCommand,
];
