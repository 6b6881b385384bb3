{{/* Names, labels and shared snippets of the shadowmeter chart. */}}

{{- define "shadowmeter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "shadowmeter.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "shadowmeter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ include "shadowmeter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "agent") */}}
{{- define "shadowmeter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shadowmeter.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "shadowmeter.serviceAccountName" -}}
{{- default (printf "%s-agent" (include "shadowmeter.fullname" .)) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "shadowmeter.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{- define "shadowmeter.authSecretName" -}}
{{- if .Values.auth.existingSecret -}}
{{- .Values.auth.existingSecret -}}
{{- else -}}
{{- $_ := required "set auth.existingSecret (a Secret with the key `token`) or auth.token" .Values.auth.token -}}
{{- printf "%s-auth" (include "shadowmeter.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "shadowmeter.fingerprintSecretName" -}}
{{- if .Values.fingerprint.existingSecret -}}
{{- .Values.fingerprint.existingSecret -}}
{{- else -}}
{{- $key := required "set fingerprint.existingSecret (a Secret with the key `fingerprint.key`) or fingerprint.key" .Values.fingerprint.key -}}
{{- if lt (len $key) 32 -}}{{- fail "fingerprint.key must be at least 32 characters" -}}{{- end -}}
{{- printf "%s-fingerprint" (include "shadowmeter.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "shadowmeter.postgresSecretName" -}}
{{- if .Values.collector.storage.postgresql.existingSecret -}}
{{- .Values.collector.storage.postgresql.existingSecret -}}
{{- else -}}
{{- $_ := required "storage.type postgresql: set collector.storage.postgresql.existingSecret or .url" .Values.collector.storage.postgresql.url -}}
{{- printf "%s-postgresql" (include "shadowmeter.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* The collector's in-cluster URL, as the agents reach it. */}}
{{- define "shadowmeter.collectorURL" -}}
{{- $scheme := ternary "https" "http" (ne .Values.collector.tls.secretName "") -}}
{{- printf "%s://%s-collector.%s.svc:%v/v1/traces" $scheme (include "shadowmeter.fullname" .) .Release.Namespace .Values.collector.service.port -}}
{{- end -}}
