import { createBrowserRouter, Outlet } from 'react-router';
import { AuthProvider } from './auth/AuthContext';
import { RequireAuth } from './auth/RequireAuth';
import { AppLayout } from './layout/AppLayout';
import { DashboardPage } from './pages/dashboard/DashboardPage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { PoliciesPage } from './pages/PoliciesPage';
import { PolicyDetailPage } from './pages/PolicyDetailPage';
import { ViolationDetailPage } from './pages/ViolationDetailPage';
import { ViolationsPage } from './pages/ViolationsPage';

function Root() {
  return (
    <AuthProvider>
      <Outlet />
    </AuthProvider>
  );
}

/** The dashboard's routes: every page has its own URL. */
export function createRouter() {
  return createBrowserRouter([
    {
      element: <Root />,
      children: [
        { path: '/login', element: <LoginPage /> },
        {
          element: (
            <RequireAuth>
              <AppLayout />
            </RequireAuth>
          ),
          children: [
            { index: true, element: <DashboardPage /> },
            { path: 'violations', element: <ViolationsPage /> },
            { path: 'violations/:id', element: <ViolationDetailPage /> },
            { path: 'policies', element: <PoliciesPage /> },
            { path: 'policies/:id', element: <PolicyDetailPage /> },
            { path: '*', element: <NotFoundPage /> },
          ],
        },
      ],
    },
  ]);
}
