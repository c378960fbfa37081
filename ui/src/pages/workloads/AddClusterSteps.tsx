import { Content } from '@patternfly/react-core';

/**
 * How to secure a cluster, as docs/secured-cluster.md says: an init
 * bundle, then Sensor installed with the CLI's manifests or the Helm chart.
 */
export function AddClusterSteps() {
  return (
    <Content className="pf-v6-u-text-align-left" data-testid="add-cluster-steps">
      <p>A cluster appears here when its Sensor first connects to Central. To secure one:</p>
      <ol>
        <li>
          Generate an init bundle (Admin role), once per cluster:{' '}
          <code>stockade central init-bundle generate prod-eu -o prod-eu-bundle.yaml</code>
        </li>
        <li>
          Install Sensor with the CLI&apos;s manifests:{' '}
          <code>stockade sensor generate k8s --name prod-eu --central central.example.com:443 -o prod-eu</code>, then{' '}
          <code>kubectl create namespace stockade &amp;&amp; kubectl apply -f prod-eu-bundle.yaml -f prod-eu</code>
        </li>
        <li>
          or with the Helm chart, after applying the bundle:{' '}
          <code>
            helm install stockade-sensor deploy/helm/stockade-secured-cluster -n stockade --set clusterName=prod-eu --set
            centralEndpoint=central.example.com:443
          </code>
        </li>
      </ol>
      <p>
        The steps and flags are in <code>docs/secured-cluster.md</code>.
      </p>
    </Content>
  );
}
