/**
 * An in-app inbox made only of Knock's own React components, pointed at Herald: nothing here is
 * Herald-specific except `host`. The bell (`NotificationIconButton`) shows the unread count and
 * opens the popover (`NotificationFeedPopover`), whose cells mark items read on click, archive
 * them with their × button, and whose header marks all as read. New messages arrive over the
 * realtime socket that `KnockFeedProvider` opens.
 */
import { useRef, useState } from 'react';
import { KnockFeedProvider, KnockProvider, NotificationFeedPopover, NotificationIconButton } from '@knocklabs/react';
import type { InboxSettings } from './settings';

function Inbox() {
  const [isVisible, setIsVisible] = useState(false);
  const buttonRef = useRef<HTMLButtonElement>(null);
  return (
    <>
      <NotificationIconButton ref={buttonRef} badgeCountType="unread" onClick={() => setIsVisible(!isVisible)} />
      <NotificationFeedPopover buttonRef={buttonRef} isVisible={isVisible} onClose={() => setIsVisible(false)} />
    </>
  );
}

export function App({ settings }: { settings: InboxSettings }) {
  return (
    // `user` (not the deprecated `userId`): the provider identifies the user inline (PUT /v1/users/:id
    // with the user token), as Knock's documentation shows it.
    <KnockProvider apiKey={settings.apiKey} host={settings.host} user={{ id: settings.userId }} userToken={settings.userToken}>
      <KnockFeedProvider feedId={settings.feedId}>
        <header className="bar">
          <h1>Acme</h1>
          <Inbox />
        </header>
        <main>
          <p>Signed in as <strong>{settings.userId}</strong>. Open the bell to read your notifications.</p>
        </main>
      </KnockFeedProvider>
    </KnockProvider>
  );
}
