package cli

import (
	"github.com/spf13/cobra"

	"github.com/stockade-dev/stockade/internal/sensor/install"
	"github.com/stockade-dev/stockade/internal/version"
)

func (a *app) sensorCmd() *cobra.Command {
	return group("sensor", "Install Stockade's Sensor in a secured cluster",
		group("generate", "Generate the manifests that install Sensor", a.sensorGenerateK8sCmd()))
}

// defaultSensorImage is the Sensor image of this release.
func defaultSensorImage() string {
	tag := version.Version
	if tag == "" || tag == "dev" {
		tag = "latest"
	}
	return "ghcr.io/stockade-dev/stockade-sensor:" + tag
}

func (a *app) sensorGenerateK8sCmd() *cobra.Command {
	var (
		o   install.Options
		out string
	)
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Write Sensor's Kubernetes manifests to a directory for kubectl apply",
		Long: `Write the Namespace, ServiceAccount, least-privilege ClusterRole and binding, Sensor
Deployment, Service, webhook serving certificate and ValidatingWebhookConfiguration that install
Sensor, one file per object. Apply the init bundle first (stockade central init-bundle generate),
then: kubectl apply -f DIR`,
		Example: `  stockade central init-bundle generate prod-eu -o prod-eu-bundle.yaml
  stockade sensor generate k8s --name prod-eu --central central.example.com:443 --admission-enforce -o prod-eu
  kubectl apply -f prod-eu-bundle.yaml -f prod-eu`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			if out == "" {
				return usagef("name the output directory with -o DIR")
			}
			o.Now = a.env.Now()
			b, err := install.Render(o)
			if err != nil {
				return usageErr(err)
			}
			files, err := install.WriteDir(out, b)
			if err != nil {
				return err
			}
			a.note("wrote %d manifests to %s; apply the init bundle's secrets, then: kubectl apply -f %s", len(files), out, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.ClusterName, "name", "", "the cluster's `NAME` in Central (DNS-1123)")
	f.StringVar(&o.Central, "central", "", "Central's address as Sensor reaches it, `HOST:PORT`")
	f.StringVar(&o.Namespace, "namespace", install.DefaultNamespace, "install Sensor in `NAMESPACE`")
	f.StringVar(&o.Image, "image", defaultSensorImage(), "Sensor's container `IMAGE`")
	f.BoolVar(&o.AdmissionEnforce, "admission-enforce", false, "deny workloads that violate policies with deploy-time enforcement (without it the webhook only records them)")
	f.BoolVar(&o.AdmissionFailClosed, "admission-fail-closed", false, "refuse requests when the webhook cannot answer (failurePolicy Fail); the default admits them")
	f.StringVar(&o.AdmissionURL, "admission-url", "", "register the webhook at this https `URL` instead of the in-cluster Service (Sensor outside the cluster)")
	f.StringVarP(&out, "output-dir", "o", "", "write the manifests to `DIR` (created if missing)")
	for _, name := range []string{"name", "central"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}
