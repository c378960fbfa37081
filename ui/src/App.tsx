import { createBrowserRouter, Navigate, Outlet } from 'react-router';
import { AuthProvider } from './auth/AuthContext';
import { RequireAuth } from './auth/RequireAuth';
import { AppLayout } from './layout/AppLayout';
import { DashboardPage } from './pages/dashboard/DashboardPage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { RouteErrorPage } from './pages/RouteErrorPage';

function Root() {
  return (
    <AuthProvider>
      <Outlet />
    </AuthProvider>
  );
}

/**
 * The dashboard's routes: every page has its own URL. The home page (the
 * dashboard, where every session starts) is in the first bundle, so it
 * draws without a second round of requests; the other pages load on first
 * visit, each in its own chunk, so that none waits for the code of the rest.
 */
export function createRouter() {
  return createBrowserRouter([
    {
      element: <Root />,
      errorElement: <RouteErrorPage />,
      children: [
        { path: '/login', element: <LoginPage /> },
        {
          element: (
            <RequireAuth>
              <AppLayout />
            </RequireAuth>
          ),
          children: [
            {
              errorElement: <RouteErrorPage />,
              children: [
                { index: true, element: <DashboardPage /> },
                { path: 'violations', lazy: async () => ({ Component: (await import('./pages/ViolationsPage')).ViolationsPage }) },
                {
                  path: 'violations/:id',
                  lazy: async () => ({ Component: (await import('./pages/ViolationDetailPage')).ViolationDetailPage }),
                },
                { path: 'policies', lazy: async () => ({ Component: (await import('./pages/PoliciesPage')).PoliciesPage }) },
                { path: 'notifiers', element: <Navigate to="/configuration/notifiers" replace /> },
                {
                  path: 'configuration',
                  children: [
                    { index: true, element: <Navigate to="/configuration/integrations" replace /> },
                    {
                      path: 'integrations',
                      lazy: async () => ({ Component: (await import('./pages/config/IntegrationsPage')).IntegrationsPage }),
                    },
                    { path: 'notifiers', lazy: async () => ({ Component: (await import('./pages/NotifiersPage')).NotifiersPage }) },
                    { path: 'tokens', lazy: async () => ({ Component: (await import('./pages/config/TokensPage')).TokensPage }) },
                    { path: 'settings', lazy: async () => ({ Component: (await import('./pages/config/SettingsPage')).SettingsPage }) },
                  ],
                },
                { path: 'policies/new', lazy: async () => ({ Component: (await import('./pages/PolicyWizardPage')).PolicyWizardPage }) },
                { path: 'policies/:id', lazy: async () => ({ Component: (await import('./pages/PolicyDetailPage')).PolicyDetailPage }) },
                {
                  path: 'policies/:id/edit',
                  lazy: async () => ({ Component: (await import('./pages/PolicyWizardPage')).PolicyWizardPage }),
                },
                { path: 'clusters', lazy: async () => ({ Component: (await import('./pages/workloads/ClustersPage')).ClustersPage }) },
                {
                  path: 'clusters/:id',
                  lazy: async () => ({ Component: (await import('./pages/workloads/ClusterDetailPage')).ClusterDetailPage }),
                },
                {
                  path: 'deployments',
                  lazy: async () => ({ Component: (await import('./pages/workloads/DeploymentsPage')).DeploymentsPage }),
                },
                {
                  path: 'deployments/:id',
                  lazy: async () => ({ Component: (await import('./pages/workloads/DeploymentDetailPage')).DeploymentDetailPage }),
                },
                { path: 'vulnerabilities/cves', lazy: async () => ({ Component: (await import('./pages/vulns/CvesPage')).CvesPage }) },
                {
                  path: 'vulnerabilities/cves/:id',
                  lazy: async () => ({ Component: (await import('./pages/vulns/CveDetailPage')).CveDetailPage }),
                },
                {
                  path: 'vulnerabilities/images',
                  lazy: async () => ({ Component: (await import('./pages/vulns/ImagesPage')).ImagesPage }),
                },
                {
                  path: 'vulnerabilities/images/:digest',
                  lazy: async () => ({ Component: (await import('./pages/vulns/ImageDetailPage')).ImageDetailPage }),
                },
                {
                  path: 'vulnerabilities/deployments',
                  lazy: async () => ({ Component: (await import('./pages/vulns/DeploymentVulnsPage')).DeploymentVulnsPage }),
                },
                { path: '*', element: <NotFoundPage /> },
              ],
            },
          ],
        },
      ],
    },
  ]);
}
