{{/*
Helpers of the flash-sale chart. Components are named by their binary (gateway, sk-app,
sk-core, sk-admin, order-consumer); their values live under the camelCase key that
"flash-sale.components" maps them to.
*/}}

{{/* The chart name (app.kubernetes.io/name). */}}
{{- define "flash-sale.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The prefix of every resource name: the release name (or fullnameOverride). Service names are
DNS labels (at most 63 characters) and the longest suffix is "-sk-app-headless", so the prefix
may have at most 47: longer ones fail instead of being cut (two cut names could collide).
*/}}
{{- define "flash-sale.fullname" -}}
{{- $name := default .Release.Name .Values.fullnameOverride -}}
{{- if gt (len $name) 47 -}}
{{- fail (printf "the release name (or fullnameOverride) %q is longer than 47 characters" $name) -}}
{{- end -}}
{{- $name -}}
{{- end -}}

{{/* helm.sh/chart */}}
{{- define "flash-sale.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The components: binary name -> values key, whether the chart offers an HPA, the Service name
suffix. Used as: $c := index (include "flash-sale.components" . | fromYaml) "sk-app".
*/}}
{{- define "flash-sale.components" -}}
gateway:
  key: gateway
  autoscaling: true
  service: gateway
sk-app:
  key: skApp
  autoscaling: true
  service: sk-app-headless
sk-core:
  key: skCore
  autoscaling: true
  service: sk-core
sk-admin:
  key: skAdmin
  autoscaling: false
  service: sk-admin
order-consumer:
  key: orderConsumer
  autoscaling: false
  service: order-consumer
{{- end -}}

{{/* Labels of every object. Call with (dict "root" $ "component" "sk-app"); component may be "". */}}
{{- define "flash-sale.labels" -}}
helm.sh/chart: {{ include "flash-sale.chart" .root }}
{{ include "flash-sale.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: {{ include "flash-sale.name" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels: name, instance and (when given) component, so releases never share pods. */}}
{{- define "flash-sale.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flash-sale.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/* Name of a component's object: <fullname>-<component>. Call with (dict "root" $ "component" "sk-app"). */}}
{{- define "flash-sale.componentName" -}}
{{- printf "%s-%s" (include "flash-sale.fullname" .root) .component -}}
{{- end -}}

{{/* Name of the Service a component is reached at. */}}
{{- define "flash-sale.serviceName" -}}
{{- $c := index (include "flash-sale.components" .root | fromYaml) .component -}}
{{- printf "%s-%s" (include "flash-sale.fullname" .root) $c.service -}}
{{- end -}}

{{/* Base URL of a component's Service inside the namespace. */}}
{{- define "flash-sale.serviceURL" -}}
{{- $c := index (include "flash-sale.components" .root | fromYaml) .component -}}
{{- $v := index .root.Values $c.key -}}
{{- printf "http://%s:%s" (include "flash-sale.serviceName" .) (include "flash-sale.envValue" $v.port) -}}
{{- end -}}

{{/* The Secret the services read their keys and connection URLs from. */}}
{{- define "flash-sale.secretName" -}}
{{- default (include "flash-sale.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "flash-sale.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "flash-sale.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "flash-sale.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
A value as an environment variable's text. Numbers from values files arrive as float64, which
would print 1000000 as "1e+06": whole numbers print as integers.
*/}}
{{- define "flash-sale.envValue" -}}
{{- if and (kindIs "float64" .) (eq (floor .) .) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}

{{/*
The non-secret settings of a component (its ConfigMap's data): what the chart derives from the
values first, then the component's own config map, which wins. Call with
(dict "root" $ "component" "sk-app").
*/}}
{{- define "flash-sale.configData" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $c := index (include "flash-sale.components" $root | fromYaml) .component -}}
{{- $cv := index $v $c.key -}}
{{- $data := dict
      "SK_HTTP__LISTEN" (printf "0.0.0.0:%s" (include "flash-sale.envValue" $cv.port))
      "SK_LOG__FORMAT" "json"
      "SK_LOG__FILTER" $v.logFilter -}}
{{- if $v.otel.endpoint -}}
{{- $_ := set $data "OTEL_EXPORTER_OTLP_ENDPOINT" $v.otel.endpoint -}}
{{- $_ := set $data "SK_LOG__TRACE_SAMPLE_RATIO" (include "flash-sale.envValue" $v.otel.sampleRatio) -}}
{{- end -}}
{{- if eq .component "gateway" -}}
{{- $_ := set $data "SK_UPSTREAMS__APP" (include "flash-sale.serviceURL" (dict "root" $root "component" "sk-app")) -}}
{{- $_ := set $data "SK_UPSTREAMS__ADMIN" (include "flash-sale.serviceURL" (dict "root" $root "component" "sk-admin")) -}}
{{- $_ := set $data "SK_UPSTREAM_HEALTH__RESOLVE_INTERVAL_MS" (include "flash-sale.envValue" $cv.resolveIntervalMs) -}}
{{- if $cv.trustedProxies -}}
{{- $_ := set $data "SK_PROXY__TRUSTED_PROXIES" (join "," $cv.trustedProxies) -}}
{{- end -}}
{{- end -}}
{{- if eq .component "sk-app" -}}
{{- $_ := set $data "SK_CORE__URL" (include "flash-sale.serviceURL" (dict "root" $root "component" "sk-core")) -}}
{{- $_ := set $data "SK_EDGE__TRUSTED_PROXIES" (join "," (concat (list "127.0.0.1" "::1") $v.podCIDRs)) -}}
{{- end -}}
{{- if has .component (list "sk-app" "sk-core" "sk-admin") -}}
{{- $_ := set $data "SK_REDIS__KEY_PREFIX" $v.redis.keyPrefix -}}
{{- end -}}
{{- if has .component (list "sk-app" "sk-admin") -}}
{{- $_ := set $data "SK_JWT__KID" $v.jwt.kid -}}
{{- end -}}
{{- if has .component (list "sk-core" "order-consumer") -}}
{{- $_ := set $data "SK_KAFKA__BROKERS" $v.kafka.brokers -}}
{{- $_ := set $data "SK_KAFKA__ORDERS_TOPIC" $v.kafka.ordersTopic -}}
{{- $_ := set $data "SK_KAFKA__DLQ_TOPIC" $v.kafka.dlqTopic -}}
{{- end -}}
{{- if has .component (list "sk-admin" "order-consumer") -}}
{{- $_ := set $data "SK_MYSQL__CREATE_DATABASE" (toString $v.mysql.createDatabase) -}}
{{- end -}}
{{- if eq .component "order-consumer" -}}
{{- $_ := set $data "SK_CONSUMER__GROUP_ID" $v.kafka.consumerGroup -}}
{{- end -}}
{{- range $key, $value := $cv.config -}}
{{- $_ := set $data $key (include "flash-sale.envValue" $value) -}}
{{- end -}}
{{- range $key, $value := $data }}
{{ $key }}: {{ $value | quote }}
{{- end -}}
{{- end -}}

{{/*
The Secret keys a component reads, as "ENV_NAME: optional" lines: each service gets only the
keys it uses.
*/}}
{{- define "flash-sale.secretKeys" -}}
{{- if eq .component "sk-app" -}}
SK_REDIS__URL: false
SK_MYSQL__URL: false
SK_SECURITY__INTERNAL_SECRET: false
SK_JWT__SECRET: false
SK_JWT__PREVIOUS_KEYS: true
{{- else if eq .component "sk-core" -}}
SK_REDIS__URL: false
SK_SECURITY__INTERNAL_SECRET: false
SK_SECURITY__PURCHASE_TOKEN_SECRET: false
{{- else if eq .component "sk-admin" -}}
SK_MYSQL__URL: false
SK_REDIS__URL: false
SK_JWT__SECRET: false
SK_JWT__PREVIOUS_KEYS: true
{{- else if eq .component "order-consumer" -}}
SK_MYSQL__URL: false
{{- end -}}
{{- end -}}

{{/*
What the chart puts into its Secret from the values (without generated keys): its hash is the
checksum/secret annotation, so pods roll when a key or URL in the values changes.
*/}}
{{- define "flash-sale.secretInputs" -}}
{{- $v := .Values -}}
{{- toJson (list $v.secrets $v.redis.url $v.mysql.url) -}}
{{- end -}}
