import type { OperationName } from './operation';

/**
 * The status table: one item per requestId, written by the gateway (`processing`) and the consumer
 * (`completed` | `failed`). States only move forward.
 */

export type OperationStatus = 'processing' | 'completed' | 'failed';

/** Name of the TTL attribute (epoch seconds). */
export const STATUS_TTL_ATTRIBUTE = 'expiresAt';
/** How long a status item is kept by default. */
export const DEFAULT_STATUS_RETENTION_SECONDS = 7 * 24 * 3600;

export interface OperationError {
  code: string;
  message: string;
}

/** An item of the status table. */
export interface StatusItem {
  requestId: string;
  status: OperationStatus;
  sub?: string;
  operation: OperationName;
  businessId: string;
  locationId: string;
  resourceType: string;
  resourceId?: string;
  result?: unknown;
  error?: OperationError;
  acceptedAt: string;
  updatedAt: string;
  expiresAt: number;
}

/** Epoch seconds at which an item written `now` expires. */
export function expiresAt(now: Date, retentionSeconds = DEFAULT_STATUS_RETENTION_SECONDS): number {
  return Math.floor(now.getTime() / 1000) + retentionSeconds;
}
