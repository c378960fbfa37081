// boot comes first: it starts the first page's API calls (see boot.ts).
import { api } from './boot';
// PatternFly's base (design tokens, fonts, reset) and utility classes; each
// component brings its own styles into the chunk of the page that uses it,
// so the first page does not wait for the stylesheet of every component.
// The chart styles come with the dashboard's chunk.
import '@patternfly/react-core/dist/styles/base.css';
import '@patternfly/patternfly/patternfly-addons.css';
import './app.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router/dom';
import { ApiProvider } from './api/context';
import { createRouter } from './App';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

performance.mark('stockade:app');
const router = createRouter();

// The first render waits (a little) for the calls boot.ts started, so that
// it draws the page with its data rather than a loading state first.
const FIRST_RENDER_WAIT_MS = 400;

void api.settled(FIRST_RENDER_WAIT_MS).then(() =>
  createRoot(root).render(
    <StrictMode>
      <ApiProvider client={api}>
        <RouterProvider router={router} />
      </ApiProvider>
    </StrictMode>,
  ),
);
