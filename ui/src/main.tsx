import '@patternfly/patternfly/patternfly.css';
import '@patternfly/patternfly/patternfly-addons.css';
import '@patternfly/patternfly/patternfly-charts.css';
import './app.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router/dom';
import { ApiClient } from './api/client';
import { ApiProvider } from './api/context';
import { createRouter } from './App';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

const api = new ApiClient();
const router = createRouter();

createRoot(root).render(
  <StrictMode>
    <ApiProvider client={api}>
      <RouterProvider router={router} />
    </ApiProvider>
  </StrictMode>,
);
