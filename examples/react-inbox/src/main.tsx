import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@knocklabs/react/dist/index.css';
import './page.css';
import { App } from './App';
import { readSettings } from './settings';

const settings = readSettings();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    {'missing' in settings
      ? <p role="alert">Missing settings: {settings.missing.join(', ')} (pass ?host=&amp;key=&amp;user=&amp;token=&amp;channel=)</p>
      : <App settings={settings} />}
  </StrictMode>,
);
