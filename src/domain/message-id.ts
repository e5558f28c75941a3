import KSUID from 'ksuid';

/** Message ids are KSUIDs like Knock's (27 characters): sortable by creation time. */
export function newMessageId(at: Date): string {
  return KSUID.randomSync(at).string;
}
