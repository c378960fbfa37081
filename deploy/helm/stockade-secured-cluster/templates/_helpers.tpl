{{- define "stockade.labels" -}}
app.kubernetes.io/name: stockade-sensor
app.kubernetes.io/part-of: stockade
{{- end -}}

{{- define "stockade.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "stockade.required" -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" .Values.clusterName) -}}
{{- fail "clusterName: set it to the cluster's name in Central (lower-case letters, digits, '-' and '.')" -}}
{{- end -}}
{{- if not (regexMatch "^[^:]+:[0-9]+$" .Values.centralEndpoint) -}}
{{- fail "centralEndpoint: set it to Central's HOST:PORT" -}}
{{- end -}}
{{- end -}}

{{/*
The webhook's serving material: the values when given, else the Secret of a
previous release (so an upgrade keeps the caBundle the API server trusts),
else a new CA and certificate. Returns a dict with caCert, cert and key.
*/}}
{{- define "stockade.webhookTLS" -}}
{{- $ns := .Release.Namespace -}}
{{- if .Values.admission.tls.cert -}}
{{- dict "caCert" .Values.admission.tls.caCert "cert" .Values.admission.tls.cert "key" .Values.admission.tls.key | toJson -}}
{{- else -}}
{{- $old := lookup "v1" "Secret" $ns "stockade-sensor-webhook-tls" -}}
{{- if and $old $old.data -}}
{{- dict "caCert" (index $old.data "ca.crt" | b64dec) "cert" (index $old.data "tls.crt" | b64dec) "key" (index $old.data "tls.key" | b64dec) | toJson -}}
{{- else -}}
{{- $host := printf "stockade-sensor.%s.svc" $ns -}}
{{- $ca := genCA "Stockade Sensor webhook CA" 730 -}}
{{- $names := list $host (printf "stockade-sensor.%s" $ns) (printf "%s.cluster.local" $host) -}}
{{- $ips := list -}}
{{- if .Values.admission.url -}}
{{- $u := urlParse .Values.admission.url -}}
{{- $h := regexReplaceAll ":[0-9]+$" $u.host "" -}}
{{- if regexMatch "^[0-9.]+$" $h -}}
{{- $names = list -}}
{{- $ips = list $h -}}
{{- else -}}
{{- $names = list $h -}}
{{- end -}}
{{- end -}}
{{- $cert := genSignedCert (first (concat $names $ips)) $ips $names 730 $ca -}}
{{- dict "caCert" $ca.Cert "cert" $cert.Cert "key" $cert.Key | toJson -}}
{{- end -}}
{{- end -}}
{{- end -}}
