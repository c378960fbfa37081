// The first code the page runs. It is imported before React and PatternFly,
// so the bundler places it first in the entry chunk: the session check and,
// when the dashboard is the page opened, the dashboard's data start loading
// while the rest of the application's code is still being evaluated.
import { ApiClient } from './api/client';
import { AUTH_STATUS_PATH } from './api/endpoints';
import { prefetchDashboard } from './pages/dashboard/queries';

/** The application's one API client. */
// Marks for the breakdown hack/bench/dashboard-paint.mjs prints.
performance.mark('stockade:boot');
export const api = new ApiClient();

api.prefetch(AUTH_STATUS_PATH);
if (window.location.pathname === '/') prefetchDashboard(api, window.location.search);
