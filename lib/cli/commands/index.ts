/**
 * The subcommands of `cert-rotation`, in the order `--help` lists them. To add
 * one, write `commands/<name>.ts` exporting a `Command` and append it here.
 */
import type { Command } from '../io';
import { checkCommand } from './check';
import { explainCommand } from './explain';
import { fleetCommand } from './fleet';
import { pkiCommand } from './pki';
import { stepCommand } from './step';

export const COMMANDS: readonly Command[] = [checkCommand, explainCommand, fleetCommand, pkiCommand, stepCommand];
