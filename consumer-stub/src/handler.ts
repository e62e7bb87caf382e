import { readConfig } from './config';
import { createHandlerFromConfig } from './createHandlerFromConfig';

/**
 * The Lambda entry. Configuration is read and clients are built once, at cold start, so a wrong
 * environment fails the first invocation loudly instead of every record quietly.
 */
export const handler = createHandlerFromConfig(readConfig(process.env));

export { createHandler } from './createHandler';
