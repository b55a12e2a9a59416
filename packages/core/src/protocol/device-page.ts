// How many devices a run's status lists, and the admin's pages through all of them (GET
// /api/devices). At ten thousand devices the whole list is about 3 MB of JSON: pushed to every
// dashboard several times a second it stalled the aggregator (docs/SCALE.md, section 5). So a status
// lists every device up to STATUS_DEVICE_PAGE of them (a classroom sees them all), and above that
// the counts plus a page: the devices at work, then the latest to join.
import { z } from 'zod';
import type { DeviceStatus } from './status';

/** A status lists every device up to this many; above it, this many (and the counts of all). */
export const STATUS_DEVICE_PAGE = 200;
/** The most devices one page of GET /api/devices holds. */
export const DEVICE_PAGE_MAX = 1000;

const whole = (name: string, max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, `${name} must be a whole number written in digits`)
    .transform(Number)
    .pipe(z.number().max(max, `${name} must be at most ${max}`));

/** GET /api/devices?offset=&limit=: both optional, nothing else. */
export const DevicePageQuerySchema = z
  .object({
    offset: whole('offset', 1e9).default(0),
    limit: whole('limit', DEVICE_PAGE_MAX).pipe(z.number().min(1, 'limit must be at least 1')).default(STATUS_DEVICE_PAGE),
  })
  .strict();
export type DevicePageQuery = z.infer<typeof DevicePageQuerySchema>;

/** One page of every device, in the order they joined (a device that joins later goes at the end, so pages never repeat or skip one). */
export interface DevicePage {
  run: string;
  total: number;
  offset: number;
  limit: number;
  devices: DeviceStatus[];
}
