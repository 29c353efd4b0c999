{{/* Labels every object of the chart carries. */}}
{{- define "grpcimages.labels" -}}
app.kubernetes.io/part-of: grpcimages
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end }}

{{/* The Secret holding the signing key and the operator credential. */}}
{{- define "grpcimages.identitySecret" -}}
{{- default (printf "%s-identity" .Release.Name) .Values.identity.existingSecret -}}
{{- end }}

{{/* The Redis connection string the services use. */}}
{{- define "grpcimages.redis" -}}
{{- if .Values.redis.enabled -}}
{{ .Release.Name }}-redis:6379
{{- else -}}
{{ .Values.redis.configuration }}
{{- end -}}
{{- end }}

{{/* Pod and container security every workload shares: restricted pod security. */}}
{{- define "grpcimages.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{/*
A service of the cluster: ServiceAccount, Deployment and Service.
Call with (dict "root" $ "name" "catalog" "svc" .Values.catalog).
*/}}
{{- define "grpcimages.service" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $svc := .svc -}}
{{- $fullname := printf "%s-%s" $root.Release.Name $name -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "grpcimages.labels" $root | nindent 4 }}
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "grpcimages.labels" $root | nindent 4 }}
    app: {{ $name }}
spec:
  replicas: {{ $svc.replicas }}
  selector:
    matchLabels:
      app: {{ $name }}
      app.kubernetes.io/instance: {{ $root.Release.Name }}
  template:
    metadata:
      labels:
        app: {{ $name }}
        app.kubernetes.io/instance: {{ $root.Release.Name }}
        tier: service
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/config.yaml") $root | sha256sum }}
    spec:
      serviceAccountName: {{ $fullname }}
      securityContext:
        runAsNonRoot: true
        runAsUser: 1654
        runAsGroup: 1654
        fsGroup: 1654
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {{ $name }}
          image: "{{ $root.Values.image.repository }}/{{ $name }}:{{ default $root.Chart.AppVersion $root.Values.image.tag }}"
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          ports:
            - name: grpc
              containerPort: {{ $svc.port }}
            {{- if eq $name "transfer" }}
            - name: downloads
              containerPort: {{ $svc.downloadPort }}
            - name: oss
              containerPort: {{ $svc.ossPort }}
            {{- end }}
            {{- if eq $name "gateway" }}
            - name: ecs
              containerPort: {{ $svc.ecsPort }}
            {{- end }}
            {{- if eq $name "console" }}
            - name: http
              containerPort: {{ $svc.httpPort }}
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ $root.Release.Name }}-config
          env:
            - name: Service__Port
              value: {{ $svc.port | quote }}
            {{- if eq $name "kms" }}
            - name: Operator__Name
              value: {{ $root.Values.identity.operatorName | quote }}
            - name: Operator__CredentialFile
              value: /var/run/secrets/grpcimages/operator-credential
            - name: Kms__RootKeyFile
              value: /var/run/secrets/grpcimages/kms-root-key
            {{- end }}
            {{- if eq $name "transfer" }}
            - name: Data__Directory
              value: /var/lib/grpcimages
            - name: ObjectStore__HttpPort
              value: {{ $svc.downloadPort | quote }}
            - name: ObjectStore__OssPort
              value: {{ $svc.ossPort | quote }}
            {{- with $svc.downloadUrl }}
            - name: ObjectStore__PublicUrl
              value: {{ . | quote }}
            {{- end }}
            {{- end }}
            {{- if eq $name "gateway" }}
            - name: Gateway__HttpPort
              value: {{ $svc.ecsPort | quote }}
            {{- end }}
            {{- if eq $name "console" }}
            - name: Console__HttpPort
              value: {{ $svc.httpPort | quote }}
            {{- end }}
          securityContext:
            {{- include "grpcimages.containerSecurity" $root | nindent 12 }}
          readinessProbe:
            grpc:
              port: {{ $svc.port }}
            periodSeconds: 2
            timeoutSeconds: 2
            failureThreshold: 1
          livenessProbe:
            grpc:
              port: {{ $svc.port }}
              service: liveness
            initialDelaySeconds: 10
            periodSeconds: 10
            timeoutSeconds: 2
          resources:
            {{- toYaml $svc.resources | nindent 12 }}
          volumeMounts:
            - name: identity
              mountPath: /var/run/secrets/grpcimages
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- if eq $name "transfer" }}
            - name: blobs
              mountPath: /var/lib/grpcimages
            {{- end }}
      volumes:
        - name: identity
          secret:
            secretName: {{ include "grpcimages.identitySecret" $root }}
        - name: tmp
          emptyDir: {}
        {{- if eq $name "transfer" }}
        - name: blobs
          persistentVolumeClaim:
            claimName: {{ $root.Release.Name }}-transfer-blobs
        {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "grpcimages.labels" $root | nindent 4 }}
spec:
  selector:
    app: {{ $name }}
    app.kubernetes.io/instance: {{ $root.Release.Name }}
  ports:
    - name: grpc
      port: {{ $svc.port }}
      targetPort: grpc
      appProtocol: kubernetes.io/h2c
    {{- if eq $name "transfer" }}
    - name: downloads
      port: {{ $svc.downloadPort }}
      targetPort: downloads
      appProtocol: http
    - name: oss
      port: {{ $svc.ossPort }}
      targetPort: oss
      appProtocol: http
    {{- end }}
    {{- if eq $name "gateway" }}
    - name: ecs
      port: {{ $svc.ecsPort }}
      targetPort: ecs
      appProtocol: http
    {{- end }}
    {{- if eq $name "console" }}
    - name: http
      port: {{ $svc.httpPort }}
      targetPort: http
      appProtocol: http
    {{- end }}
{{- if $root.Values.podDisruptionBudget.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "grpcimages.labels" $root | nindent 4 }}
spec:
  minAvailable: {{ $root.Values.podDisruptionBudget.minAvailable }}
  selector:
    matchLabels:
      app: {{ $name }}
      app.kubernetes.io/instance: {{ $root.Release.Name }}
{{- end }}
{{- end }}
