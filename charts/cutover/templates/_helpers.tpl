{{/*
The chart's name: "cutover", or "cutover-<shard>" for a shard, unless nameOverride.
*/}}
{{- define "cutover.name" -}}
{{- $name := .Chart.Name }}
{{- if .Values.shard }}
{{- $name = printf "%s-%s" .Chart.Name .Values.shard }}
{{- end }}
{{- default $name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name: the release name when it contains the chart's name, else
"<release>-<chart>". Cut to 28 characters, so that the longest name made from it (the metrics
Service, "<fullname>-controller-manager-metrics-service") stays within 63.
*/}}
{{- define "cutover.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 28 | trimSuffix "-" }}
{{- else }}
{{- $name := include "cutover.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 28 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 28 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The manager's ServiceAccount; the admission policy exempts exactly this identity.
*/}}
{{- define "cutover.serviceAccountName" -}}
{{- include "cutover.fullname" . }}-controller-manager
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "cutover.labels" -}}
app.kubernetes.io/name: {{ include "cutover.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The labels that select the manager's pods (Deployment, PodDisruptionBudget, metrics Service):
the same as config/default's.
*/}}
{{- define "cutover.selectorLabels" -}}
control-plane: controller-manager
app.kubernetes.io/name: {{ include "cutover.name" . }}
{{- end }}

{{/*
The manager's image: repository@digest when a digest is given, else repository:tag.
*/}}
{{- define "cutover.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
cutover.rules: the rules: block of one of files/*-rules.yaml, which `make manifests` copies from
config/rbac. Fails when the file is missing or empty, instead of rendering a role without rules.
*/}}
{{- define "cutover.rules" -}}
{{- $rules := .root.Files.Get (printf "files/%s" .file) }}
{{- if not (regexMatch "(?m)^rules:" $rules) }}
{{- fail (printf "files/%s has no rules: block (run make manifests)" .file) }}
{{- end }}
{{- $rules }}
{{- end }}
