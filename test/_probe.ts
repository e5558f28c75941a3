import type { FeedStoreState, Feed } from '@knocklabs/client';
import * as ns from '@knocklabs/client';
declare const s: FeedStoreState;
declare const f: Feed;
export const a: number = s.items;
export const b: number = f.getState();
export const c: number = ns.default;
export const d: number = f.store;
