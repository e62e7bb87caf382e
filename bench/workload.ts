import type { AutocannonRequest } from 'autocannon';

/** The body every create carries; `patientName` is the field the encryption scenario protects. */
export const PATIENT_NAME = 'John Doe';
const BODY = JSON.stringify({ data: { patientName: PATIENT_NAME, appointmentTime: '2024-01-01T10:00:00Z', service: 'consultation' } });

/** The permission the bench's token carries: create appointments anywhere. */
export const BENCH_PERMISSION = '*:*:appointment:create';

/**
 * The request cycle: creates spread over `businesses` x `locations` scopes, so records go to that many
 * partition keys (`business-location-appointment`) and so to every shard. Each connection walks the cycle.
 */
export function createRequests(token: string, businesses = 4, locations = 2): AutocannonRequest[] {
  const out: AutocannonRequest[] = [];
  for (let b = 1; b <= businesses; b++) {
    for (let l = 1; l <= locations; l++) {
      const businessId = `business-${b}`;
      const locationId = `location-${l}`;
      out.push({
        method: 'POST',
        path: `/api/resources/${businessId}-${locationId}`,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-business-id': businessId,
          'x-location-id': locationId,
          'x-resource-type': 'appointment',
        },
        body: BODY,
      });
    }
  }
  return out;
}
