// The plan's Kubernetes manifests: each validates against the Kubernetes or KEDA schema (kubernetes-models), a damaged
// one does not, and probes, resources and the autoscalers' numbers are where the plan says.
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Service } from 'kubernetes-models/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { METRIC_FAMILIES } from '../../edge/metrics.ts';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../../edge/node-server.ts';
import { INFERENCE_ROUTES } from '../../edge/routes.ts';
import {
  buildManifests,
  manifestYaml,
  PRE_STOP_SECONDS,
  validateManifests,
  type PlanManifests,
} from '../../ops/plan/manifests.ts';
import { buildPlan } from '../../ops/plan/plan.ts';
import type { Plan } from '../../ops/plan/schema.ts';
import { planInputs } from '../helpers/plan-fixture.ts';

let plan: Plan;
let manifests: PlanManifests;

beforeAll(async () => {
  plan = buildPlan(
    await planInputs({
      deployment: { name: 'classifier', namespace: 'ml', image: 'registry.example/shipshape:1.2.3' },
    }),
  );
  manifests = buildManifests(plan);
});

/** The manifest after a YAML round trip, as `kubectl apply` would read it. */
function fromYaml(file: keyof PlanManifests): Record<string, unknown> {
  return parse(manifestYaml(manifests[file], plan)) as Record<string, unknown>;
}

/** A copy of `value` without `key`. */
function without(value: object, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([k]) => k !== key));
}

function container(deployment: Deployment) {
  const first = deployment.spec?.template.spec?.containers[0];
  if (first === undefined) throw new Error('the Deployment has a container');
  return first;
}

describe('generated manifests', () => {
  it('all validate against their schemas', () => {
    expect(() => validateManifests(manifests)).not.toThrow();
  });

  it('validate again after a YAML round trip', () => {
    expect(() => new Deployment(fromYaml('deployment.yaml') as never).validate()).not.toThrow();
    expect(() => new Service(fromYaml('service.yaml') as never).validate()).not.toThrow();
    expect(() => new HorizontalPodAutoscaler(fromYaml('hpa.yaml') as never).validate()).not.toThrow();
    expect(() => new ScaledObject(fromYaml('keda-scaledobject.yaml') as never).validate()).not.toThrow();
  });

  it('probe /healthz for liveness and /readyz for readiness on the http port', () => {
    const c = container(manifests['deployment.yaml']);
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  it('hold liveness off with a startup probe on /readyz, since /healthz answers 200 before the bundle is loaded', () => {
    const c = container(manifests['deployment.yaml']);
    expect(c.startupProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  it('select the pods the Deployment labels, in the Deployment and in the Service', () => {
    const deployment = manifests['deployment.yaml'];
    const podLabels = deployment.spec?.template.metadata?.labels ?? {};
    const selected = [deployment.spec?.selector.matchLabels, manifests['service.yaml'].spec?.selector];
    for (const selector of selected) {
      expect(Object.keys(selector ?? {}).length).toBeGreaterThan(0);
      expect(podLabels).toMatchObject(selector ?? { missing: 'selector' });
    }
    expect(manifests['service.yaml'].spec?.ports?.[0]?.targetPort).toBe(
      container(deployment).ports?.[0]?.name,
    );
  });

  it('query KEDA by labels the metric has, or that the scrape of the annotated pods adds (namespace, pod labels)', () => {
    const query = manifests['keda-scaledobject.yaml'].spec.triggers[0]?.metadata.query ?? '';
    const selector = /shipshape_http_requests_total\{([^}]*)\}/.exec(query)?.[1] ?? '';
    const labels = [...selector.matchAll(/(\w+)=~?"/g)].map((match) => match[1]);
    const own = METRIC_FAMILIES.httpRequests.labels;
    const added = [
      'namespace',
      ...Object.keys(manifests['deployment.yaml'].spec?.template.metadata?.labels ?? {}),
    ];
    expect(labels.length).toBeGreaterThan(0);
    for (const label of labels) expect([...own, ...added]).toContain(label);
    expect(query).toContain(`route=~"${[...INFERENCE_ROUTES].join('|')}"`);
  });

  it('leave KEDA’s cooldownPeriod unset (it only paces scaling to zero) and pace scaling down by the HPA behaviour', () => {
    const spec = manifests['keda-scaledobject.yaml'].spec;
    expect(spec.cooldownPeriod).toBeUndefined();
    expect(
      spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.stabilizationWindowSeconds,
    ).toBe(plan.node?.autoscaling.scaleDownStabilisationSeconds);
  });

  it('request and limit the plan’s CPU and memory', () => {
    const r = plan.node?.resources;
    expect(container(manifests['deployment.yaml']).resources).toEqual({
      requests: {
        cpu: `${r?.cpuRequestMillicores}m`,
        memory: `${(r?.memoryRequestBytes ?? 0) / 1024 ** 2}Mi`,
      },
      limits: { cpu: `${r?.cpuLimitMillicores}m`, memory: `${(r?.memoryLimitBytes ?? 0) / 1024 ** 2}Mi` },
    });
  });

  it('serve the metrics to an in-cluster scraper and announce them for it', () => {
    const deployment = manifests['deployment.yaml'];
    expect(container(deployment).env).toContainEqual({ name: 'SHIPSHAPE_METRICS_PUBLIC', value: '1' });
    expect(deployment.spec?.template.metadata?.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/path': '/metrics',
    });
  });

  it('give the server its whole shutdown timeout after the preStop pause before SIGKILL', () => {
    const grace = manifests['deployment.yaml'].spec?.template.spec?.terminationGracePeriodSeconds ?? 0;
    expect(grace).toBeGreaterThan(PRE_STOP_SECONDS + DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000);
  });

  it('run serve with node itself as the container command, so that SIGTERM reaches it', () => {
    const c = container(manifests['deployment.yaml']);
    expect(c.command).toEqual(['node', 'bin/shipshape.js']);
    expect(c.args?.[0]).toBe('serve');
  });

  it('run the measured number of workers', () => {
    const args = container(manifests['deployment.yaml']).args ?? [];
    expect(args[args.indexOf('--workers') + 1]).toBe(String(plan.node?.resources.workers));
  });

  it('target the HPA at the plan’s CPU utilisation between min and max replicas', () => {
    const spec = manifests['hpa.yaml'].spec;
    expect(spec?.minReplicas).toBe(2);
    expect(spec?.maxReplicas).toBe(plan.node?.maxReplicas);
    expect(spec?.metrics?.[0]?.resource?.target).toEqual({ type: 'Utilization', averageUtilization: 75 });
  });

  it('trigger KEDA on the service’s request counter at the planned rate per replica', () => {
    const trigger = manifests['keda-scaledobject.yaml'].spec.triggers[0];
    expect(trigger?.type).toBe('prometheus');
    expect(trigger?.metadata).toMatchObject({
      serverAddress: 'http://prometheus.monitoring.svc:9090',
      threshold: String(plan.node?.autoscaling.kedaThresholdRps),
    });
    expect(trigger?.metadata.query).toContain(
      'shipshape_http_requests_total{namespace="ml",app="classifier"',
    );
  });
});

describe('damaged manifests', () => {
  it('a Deployment with replicas as a string does not validate', () => {
    const damaged = new Deployment({
      ...(manifests['deployment.yaml'].toJSON() as object),
      spec: { ...manifests['deployment.yaml'].spec, replicas: 'two' } as never,
    });
    expect(() => damaged.validate()).toThrow();
  });

  it('an HPA without maxReplicas does not validate, and validateManifests names the file with a code', () => {
    const spec = without(manifests['hpa.yaml'].spec ?? {}, 'maxReplicas');
    const damaged = {
      ...manifests,
      'hpa.yaml': new HorizontalPodAutoscaler({
        ...(manifests['hpa.yaml'].toJSON() as object),
        spec,
      } as never),
    };
    let thrown: unknown;
    try {
      validateManifests(damaged);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({
      code: 'PLAN_MANIFEST_INVALID',
      message: expect.stringMatching(/^hpa\.yaml does not validate/) as unknown,
    });
  });

  it('a ScaledObject without triggers does not validate', () => {
    const spec = without(manifests['keda-scaledobject.yaml'].spec, 'triggers');
    const damaged = new ScaledObject({
      ...(manifests['keda-scaledobject.yaml'].toJSON() as object),
      spec,
    } as never);
    expect(() => damaged.validate()).toThrow();
  });

  it('a Service port without its port number does not validate', () => {
    const service = manifests['service.yaml'];
    const damaged = new Service({
      ...(service.toJSON() as object),
      spec: { ...service.spec, ports: [{ name: 'http', targetPort: 'http' }] },
    } as never);
    expect(() => damaged.validate()).toThrow();
  });
});
