// The Kubernetes manifests of a Node plan: Deployment, Service, an autoscaling/v2 HPA and a KEDA ScaledObject, built
// as kubernetes-models objects so that each is checked against the Kubernetes or KEDA schema before it is written.
import { stringify } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { IHPAScalingRules } from 'kubernetes-models/autoscaling/v2';
import { Service } from 'kubernetes-models/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../../edge/node-server.ts';
import { PlanError } from './errors.ts';
import type { NodePlan, Plan } from './schema.ts';
import { messageOf } from '../../runtime/errors.ts';

/** The port `shipshape serve` listens on in the container. */
export const CONTAINER_PORT = 8787;
/**
 * Seconds the preStop hook waits before SIGTERM reaches the server: the endpoints controller and kube-proxy take a
 * few seconds to stop sending new connections to a terminating Pod, and `/readyz` only drains after SIGTERM.
 */
export const PRE_STOP_SECONDS = 5;

/** The manifests of a plan by file name, as objects (validate them, or render them with `manifestYaml`). */
export interface PlanManifests {
  readonly 'deployment.yaml': Deployment;
  readonly 'service.yaml': Service;
  readonly 'hpa.yaml': HorizontalPodAutoscaler;
  readonly 'keda-scaledobject.yaml': ScaledObject;
}

const cpu = (millicores: number): string => `${millicores}m`;
const memory = (bytes: number): string => `${Math.ceil(bytes / (1024 * 1024))}Mi`;

/** The HPA behaviour both autoscalers get: scale up at once, down slowly (one pod a minute after 5 minutes). */
function behaviour(node: NodePlan): { scaleUp: IHPAScalingRules; scaleDown: IHPAScalingRules } {
  return {
    scaleUp: {
      stabilizationWindowSeconds: node.autoscaling.scaleUpStabilisationSeconds,
      selectPolicy: 'Max',
      policies: [
        { type: 'Percent', value: 100, periodSeconds: 15 },
        { type: 'Pods', value: 4, periodSeconds: 15 },
      ],
    },
    scaleDown: {
      stabilizationWindowSeconds: node.autoscaling.scaleDownStabilisationSeconds,
      selectPolicy: 'Min',
      policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
    },
  };
}

/**
 * Builds the manifests of a plan with a Node section. The Deployment runs `shipshape serve` with the plan's
 * workers and batch size, `SHIPSHAPE_METRICS_PUBLIC=1` for the in-cluster scraper, probes on `/healthz` (liveness)
 * and `/readyz` (readiness, and a startup probe while the bundle loads and proves parity), a preStop pause and a
 * grace period longer than the pause plus serve's shutdown timeout, so in-flight requests finish before SIGKILL.
 * @throws PlanError PLAN_MANIFEST_INVALID when the plan has no Node section.
 */
export function buildManifests(plan: Plan): PlanManifests {
  const node = plan.node;
  if (node === null)
    throw new PlanError('PLAN_MANIFEST_INVALID', 'a plan without a Node section has no manifests.');
  const { name, namespace, image, prometheusUrl } = plan.inputs.deployment;
  const labels = {
    app: name,
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/managed-by': 'shipshape-plan',
  };
  const metadata = { name, namespace, labels };
  const shutdownSeconds = DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000;
  const deployment = new Deployment({
    metadata,
    spec: {
      replicas: node.minReplicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels,
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(CONTAINER_PORT),
            'prometheus.io/path': '/metrics',
          },
        },
        spec: {
          terminationGracePeriodSeconds: PRE_STOP_SECONDS + shutdownSeconds + 5,
          containers: [
            {
              name: 'shipshape',
              image,
              // node itself as PID 1, run in the repository (the image's working directory): SIGTERM reaches serve,
              // which drains, with no npm (npx) process between to forward it, nor its RSS counted in the limit.
              command: ['node', 'bin/shipshape.js'],
              args: [
                'serve',
                '--bundle',
                plan.inputs.bundle,
                '--host',
                '0.0.0.0',
                '--port',
                String(CONTAINER_PORT),
                // The capacity was measured with this many workers; a container may see the node's cores instead.
                '--workers',
                String(node.resources.workers),
              ],
              ports: [{ name: 'http', containerPort: CONTAINER_PORT, protocol: 'TCP' }],
              env: [
                { name: 'SHIPSHAPE_METRICS_PUBLIC', value: '1' },
                { name: 'SHIPSHAPE_BATCH_SIZE', value: String(plan.inputs.batchSize) },
                { name: 'SHIPSHAPE_SHUTDOWN_TIMEOUT_MS', value: String(DEFAULT_SHUTDOWN_TIMEOUT_MS) },
              ],
              resources: {
                requests: {
                  cpu: cpu(node.resources.cpuRequestMillicores),
                  memory: memory(node.resources.memoryRequestBytes),
                },
                limits: {
                  cpu: cpu(node.resources.cpuLimitMillicores),
                  memory: memory(node.resources.memoryLimitBytes),
                },
              },
              // serve listens before it loads the bundle, and /healthz answers 200 from then on: only /readyz (the
              // bundle loaded and its parity proven) says the start is over. Liveness waits for it, so a slow load is
              // not killed; a load that fails exits serve, and the container restarts.
              startupProbe: {
                httpGet: { path: '/readyz', port: 'http' },
                periodSeconds: 2,
                failureThreshold: 45,
              },
              livenessProbe: {
                httpGet: { path: '/healthz', port: 'http' },
                periodSeconds: 10,
                timeoutSeconds: 2,
                failureThreshold: 3,
              },
              readinessProbe: {
                httpGet: { path: '/readyz', port: 'http' },
                periodSeconds: 5,
                timeoutSeconds: 2,
                failureThreshold: 2,
              },
              // The sleep action needs Kubernetes 1.30 or later (PodLifecycleSleepAction); it needs no shell in the image.
              lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
            },
          ],
        },
      },
    },
  });
  const service = new Service({
    metadata,
    spec: {
      type: 'ClusterIP',
      selector: { app: name },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
    },
  });
  const scaleTargetRef = { apiVersion: 'apps/v1', kind: 'Deployment', name };
  const hpa = new HorizontalPodAutoscaler({
    metadata,
    spec: {
      scaleTargetRef,
      minReplicas: node.minReplicas,
      maxReplicas: node.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: { type: 'Utilization', averageUtilization: node.autoscaling.hpaCpuUtilisationPct },
          },
        },
      ],
      behavior: behaviour(node),
    },
  });
  const scaledObject = new ScaledObject({
    metadata,
    spec: {
      scaleTargetRef: { name },
      minReplicaCount: node.minReplicas,
      maxReplicaCount: node.maxReplicas,
      pollingInterval: 15,
      // No cooldownPeriod: KEDA applies it only to scaling to zero, which minReplicaCount >= 2 rules out; the pace
      // of scaling down comes from the HPA behaviour below.
      advanced: { horizontalPodAutoscalerConfig: { behavior: behaviour(node) } },
      triggers: [
        {
          type: 'prometheus',
          metricType: 'AverageValue',
          metadata: {
            serverAddress: prometheusUrl,
            query: node.autoscaling.kedaQuery,
            threshold: String(node.autoscaling.kedaThresholdRps),
          },
        },
      ],
    },
  });
  return {
    'deployment.yaml': deployment,
    'service.yaml': service,
    'hpa.yaml': hpa,
    'keda-scaledobject.yaml': scaledObject,
  };
}

/**
 * Validates every manifest against its schema (kubernetes-models' `.validate()`).
 * @throws PlanError PLAN_MANIFEST_INVALID naming the file and the schema's complaint.
 */
export function validateManifests(manifests: PlanManifests): void {
  for (const [file, manifest] of Object.entries(manifests) as [string, { validate(): void }][]) {
    try {
      manifest.validate();
    } catch (error) {
      throw new PlanError('PLAN_MANIFEST_INVALID', `${file} does not validate: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }
}

/** One manifest as YAML, with a header saying where it came from. */
export function manifestYaml(manifest: { toJSON(): unknown }, plan: Plan): string {
  return (
    `# Generated by \`shipshape plan\` from ${plan.inputs.report.path} (${plan.inputs.bundle}, peak ` +
    `${plan.inputs.peakRps} requests/s, p95 <= ${plan.inputs.sla.p95Ms} ms); regenerate, do not edit.\n` +
    stringify(manifest.toJSON(), { lineWidth: 0 })
  );
}
