// plan.md: the plan's numbers with their reasoning, for people. It reads the plan; it computes nothing new.
import type { QueuePoint } from '../../bench/capacity/model.ts';
import { rateWindow } from './plan.ts';
import type { Plan } from './schema.ts';
import type { WorkersCheck } from './workers.ts';

const MIB = 1024 * 1024;
const mib = (bytes: number | null): string => (bytes === null ? 'n/a' : `${(bytes / MIB).toFixed(1)} MiB`);
const ms = (value: number): string => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
const rps = (value: number): string => `${value < 100 ? value.toFixed(1) : value.toFixed(0)}/s`;
const pct = (share: number): string => `${(share * 100).toFixed(share > 0 && share < 0.01 ? 2 : 1)}%`;
const usd = (value: number | null): string => (value === null ? 'n/a' : `$${value.toFixed(2)}`);
const yes = (ok: boolean | null): string => (ok === null ? 'not measured' : ok ? 'yes' : '**no**');

function pointRow(label: string, point: QueuePoint): string {
  return `| ${label} | ${rps(point.ratePerSecond)} | ${pct(point.utilisation)} | ${ms(point.p50Ms)} | ${ms(point.p95Ms)} | ${ms(point.p99Ms)} | ${pct(point.shedFraction)} |`;
}

const POINT_HEADER = [
  '| per replica | rate | utilisation | p50 | p95 | p99 | shed |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
];

/** The memory section alone (`shipshape plan --memory`), also part of the full plan. */
export function memoryMarkdown(plan: Pick<Plan, 'memory'>, heading = '##'): string {
  const m = plan.memory;
  const lines = [`${heading} Memory for ${m.bundle} at batch ${m.batchSize}`, ''];
  const count = m.parameters;
  lines.push(
    count === null
      ? `Parameters: not counted (${m.parametersNote ?? 'the model file was not found'}), so the naive formula is left out.`
      : `The model has ${count.parameters.toLocaleString('en-US')} parameters (every initializer of model.onnx) in ` +
          `${count.layers} weighted layers (Gather, MatMul, Gemm or Conv on a weight matrix). The seed's naive ` +
          `formula, parameters x layers x 4 bytes, gives ${mib(count.parameters * count.layers * 4)}.`,
    '',
    '| where | metric | minimum (need at the batch) | recommended (x1.5) | budget | fits | naive formula | naive off by |',
    '| --- | --- | ---: | ---: | ---: | --- | ---: | --- |',
  );
  for (const need of [m.replica, m.isolate]) {
    if (need === null) continue;
    lines.push(
      `| ${need.where === 'replica' ? 'Node replica' : 'Worker isolate'} | ${need.metric} (${need.backend}) | ` +
        `${mib(need.minimumBytes)} | ${mib(need.recommendedBytes)} | ${mib(need.budgetBytes)} | ${yes(need.fits)} | ` +
        `${mib(need.naiveBytes)} | ${need.naiveWrong === null ? (need.naiveRatio === null ? 'n/a' : 'within 2x') : `**${need.naiveWrong.split(':')[0]}**`} |`,
    );
  }
  lines.push('');
  for (const need of [m.replica, m.isolate]) {
    if (need === null) continue;
    const where = need.where === 'replica' ? 'Node replica' : 'Worker isolate';
    lines.push(
      `- ${where}: ${need.source}.` +
        (need.planVerdict === null
          ? ''
          : ` The memory plan's own check on its held-out batch: ${need.planVerdict}.`) +
        (need.naiveWrong === null ? '' : ` Naive formula ${need.naiveWrong}.`),
    );
  }
  for (const note of m.notes) lines.push(`- Missing: ${note}.`);
  lines.push('');
  return lines.join('\n');
}

function nodeMarkdown(plan: Plan): string[] {
  const node = plan.node;
  const p = plan.profile;
  if (node === null || p === null) return [];
  const limit = plan.inputs.sla.p95Ms;
  const knee = node.curve.filter((point) =>
    [0.5, 0.8, 0.9, 0.95, 1, 1.1].some((u) => Math.abs(point.utilisation - u) < 1e-9),
  );
  const naive = node.naive;
  const r = node.resources;
  const a = node.autoscaling;
  const lines = [
    '## Node (Kubernetes)',
    '',
    `One replica serves ${rps(node.sustainableRps)} (Poisson arrivals) with a p95 of ${ms(node.atSustainable.p95Ms)}, ` +
      `within the ${limit} ms limit; that is ${pct(node.atSustainable.utilisation)} of its measured capacity. ` +
      `With ${pct(plan.inputs.headroom)} headroom each replica is planned for ${rps(node.plannedRps)}, so the peak of ` +
      `${plan.inputs.peakRps}/s needs **${node.replicasAtPeak} replicas** (at least ${node.minReplicas}, for availability).`,
    '',
    ...POINT_HEADER,
    pointRow('sustainable (the limit)', node.atSustainable),
    pointRow('planned (with headroom)', node.atPlanned),
    pointRow(`at the peak, ${node.replicasAtPeak} replicas`, node.atPeak),
    ...(node.oneLostAtPeak === null
      ? []
      : [pointRow(`at the peak, one replica lost (${node.replicasAtPeak - 1})`, node.oneLostAtPeak)]),
    pointRow(`naive: ${naive.replicas} replica(s)`, naive.point),
    '',
    '### Why dividing the load by the throughput is not enough',
    '',
    `The naive count is the peak over one replica's measured throughput: ceil(${plan.inputs.peakRps} / ` +
      `${p.capacityRps.toFixed(0)}) = ${naive.replicas}, each at ${pct(naive.point.utilisation)} of capacity ` +
      `(the model: p95 ${ms(naive.point.p95Ms)}, ${pct(naive.point.shedFraction)} shed). Throughput is what a ` +
      'replica does with a queue that never empties; an SLA is a percentile of response time, and under random ' +
      'arrivals the queue, and so the p95, grows steeply as the load nears capacity, until the admission gate sheds:',
    '',
    '| utilisation | p95 | shed |',
    '| ---: | ---: | ---: |',
    ...knee.map((point) => `| ${pct(point.utilisation)} | ${ms(point.p95Ms)} | ${pct(point.shedFraction)} |`),
    '',
    `A replica at 100% of its throughput queues until the admission gate sheds (${p.maxQueueWaitMs} ms of wait), ` +
      `so a plan with no headroom meets its p95 only by refusing requests. The naive count also leaves no replica ` +
      `spare: with ${naive.replicas} replica(s), losing one ${naive.replicas === 1 ? 'is an outage' : `puts ${rps(plan.inputs.peakRps / (naive.replicas - 1))} on each of the rest`}. ` +
      `The plan's ${node.replicasAtPeak} replicas keep the p95 at ${ms(node.atPeak.p95Ms)} at the peak` +
      (node.oneLostAtPeak === null
        ? '.'
        : ` and ${ms(node.oneLostAtPeak.p95Ms)} (${pct(node.oneLostAtPeak.shedFraction)} shed) with one lost.`),
    '',
    '![p95 against load per replica count](plan-load.svg)',
    '',
    '### Resources per replica',
    '',
    '| | request | limit | from |',
    '| --- | ---: | ---: | --- |',
    `| CPU | ${r.cpuRequestMillicores}m | ${r.cpuLimitMillicores}m | ${r.cpuPerRequestMs.toFixed(3)} ms CPU per request x ${rps(node.sustainableRps)} (the sustainable rate) = request; at the planned ${rps(node.plannedRps)} it uses ${((r.cpuPerRequestMs * node.plannedRps) / 1000).toFixed(2)} cores, the HPA's ${a.hpaCpuUtilisationPct}%; limit = the ${plan.inputs.report.cores} cores the capacity was measured on (${r.workers} workers and the event loop) |`,
    `| memory | ${mib(r.memoryRequestBytes)} | ${mib(r.memoryLimitBytes)} | the calibrated need at batch ${plan.inputs.batchSize}; limit = need x 1.5 |`,
    '',
    `- CPU per request: ${r.cpuSource}.`,
    `- Memory: ${r.memorySource}.`,
    `- Workers: \`--workers ${r.workers}\` is set in the Deployment, as measured; inside a container Node may see the node's cores, not the limit.`,
    '',
    '### Autoscaling',
    '',
    `- minReplicas ${node.minReplicas}, maxReplicas ${node.maxReplicas} (${node.maxReplicasReason}).`,
    `- KEDA: a Prometheus trigger on the service's own counter, threshold ${a.kedaThresholdRps} inference requests/s per replica (the planned rate): \`${a.kedaQuery}\`.`,
    "  The counter's own labels are `route`, `method` and `status`; `namespace` and `app` come from the scrape (the " +
      "Prometheus Helm chart's `kubernetes-pods` job, which the Deployment's `prometheus.io/*` annotations opt into, " +
      'adds the namespace and maps the pod labels): with another scrape config, match the labels it adds. The rate ' +
      `window is ${rateWindow(plan.inputs.deployment.scrapeIntervalSeconds)}, at least 4x the scrape interval of ` +
      `${plan.inputs.deployment.scrapeIntervalSeconds} s (\`--scrape-interval\`): \`rate()\` needs two samples in its ` +
      'window, a window of one or two intervals often holds one (a scrape late or missed), and then the query ' +
      'answers nothing, which KEDA reads as 0 requests/s, so it never scales up. Set `--scrape-interval` to your ' +
      "Prometheus's (the Helm chart's default is 1m, giving [4m]).",
    `- HPA: CPU utilisation target ${a.hpaCpuUtilisationPct}% of the request, which the request is sized to reach at the planned rate.`,
    `- Scale up: ${a.scaleUp}; stabilisation window ${a.scaleUpStabilisationSeconds} s.`,
    `- Scale down: ${a.scaleDown}.`,
    '',
    '### Cost',
    '',
    `${usd(node.cost.perReplicaMonthlyUsd)} per replica-month on the requests (${node.cost.provider}, ` +
      `[prices](${node.cost.source}) as of ${node.cost.asOf}): ${usd(node.cost.atMinimumMonthlyUsd)} at ` +
      `${node.minReplicas} replicas, ${usd(node.cost.atPeakMonthlyUsd)} at ${node.replicasAtPeak} held all month, ` +
      `${usd(node.cost.atMaximumMonthlyUsd)} at ${node.maxReplicas}.`,
    '',
  ];
  return lines;
}

/** What a Workers check could not judge for want of a measurement. */
function unmeasured(check: WorkersCheck): string[] {
  return [
    check.cpu.ok === null ? 'CPU per request (an in-process wasm scenario)' : undefined,
    check.memory.ok === null ? 'the isolate memory (a wasm memory plan)' : undefined,
    check.upload.ok === null ? 'the upload size (bench with --upload-size-file)' : undefined,
  ].filter((what) => what !== undefined);
}

/** Why no plan is recommended: none fits, or the report lacks what would tell. */
function recommendNone(checks: readonly WorkersCheck[]): string {
  const missing = [...new Set(checks.flatMap(unmeasured))];
  return missing.length === 0
    ? 'none fits'
    : `none proven to fit: the report does not measure ${missing.join(', ')}`;
}

function workersMarkdown(plan: Plan): string[] {
  const w = plan.workers;
  if (w === null) return [];
  const row = (label: string, cell: (c: WorkersCheck) => string) =>
    `| ${label} | ${w.checks.map(cell).join(' | ')} |`;
  return [
    '## Cloudflare Workers',
    '',
    w.scaling,
    '',
    `| check | ${w.checks.map((c) => c.plan).join(' | ')} |`,
    `| --- | ${w.checks.map(() => '---').join(' | ')} |`,
    row(
      `CPU per request (${w.cpuMsPerRequest === null ? 'n/a' : ms(w.cpuMsPerRequest)})`,
      (c) => `limit ${c.cpu.limitMs} ms: ${yes(c.cpu.ok)}`,
    ),
    row(
      `isolate memory at b=${plan.inputs.batchSize} (${mib(w.isolateBytes)})`,
      (c) => `${mib(c.memory.limitBytes)}: ${yes(c.memory.ok)}`,
    ),
    row(
      `upload, gzip (${mib(w.uploadGzipBytes)})`,
      (c) => `${mib(c.upload.limitBytes)}: ${yes(c.upload.ok)}`,
    ),
    row(`requests/day at the peak (${Math.round(w.peakRps * 86_400).toLocaleString('en-US')})`, (c) =>
      c.requests.limitPerDay === null
        ? 'no daily limit'
        : `${c.requests.limitPerDay.toLocaleString('en-US')}: ${yes(c.requests.ok)}`,
    ),
    row('fits', (c) => (c.fits ? '**yes**' : unmeasured(c).length > 0 ? '**not known**' : '**no**')),
    row('per month at the peak', (c) => (c.fits ? usd(c.monthlyUsd) : 'n/a')),
    '',
    `- CPU per request: ${w.cpuSource}. It leaves out ${w.cpuLeavesOut}. For scale, the Node service's whole HTTP path costs ${w.httpCpuMsPerRequest === null ? 'n/a' : ms(w.httpCpuMsPerRequest)} CPU per request (http-closed/c1, native backend).`,
    `- Cost: ${w.usdPerMillionRequests === null ? 'n/a' : `$${w.usdPerMillionRequests.toFixed(3)}`} per million requests on Paid past the included amounts; ${Math.round(w.requestsPerMonthAtPeak).toLocaleString('en-US')} requests a month if the peak held all month (an upper bound). [Prices](${w.pricing.source}) as of ${w.pricing.asOf}.`,
    `- Recommended plan: ${w.recommended ?? recommendNone(w.checks)}.`,
    '',
  ];
}

/** Whether the bench checked the model on this profile, first, since it says how far to trust the rest. */
function selfCheckMarkdown(p: Plan['profile']): string[] {
  if (p === null) return [];
  const check = p.selfCheck;
  const said =
    check === null
      ? []
      : [
          `**Self-checked**: the report's \`${check.scenario}\` ran this profile open loop at the planned rate and ` +
            `at a clearly higher one; verdict **${check.verdict}**${check.status === 'ok' ? '' : ` (measurement ${check.status})`}. ${check.detail}`,
          '',
        ];
  return [...said, ...(p.caution === null ? [] : [`> **Warning**: ${p.caution}`, ''])];
}

function modelMarkdown(p: NonNullable<Plan['profile']>, seed: number): string[] {
  return [
    '## The model',
    '',
    `Each replica is an M/G/${p.servers} queue: Poisson arrivals, ${p.servers} servers (the worker pool), first come ` +
      `first served, and a request that would wait more than ${p.maxQueueWaitMs} ms is shed as the admission gate ` +
      `sheds it. Service times are drawn from the ${p.serviceSamples} measured ones, scaled by ${p.serviceScale.toFixed(3)} ` +
      `so that ${p.servers} servers over the mean service time give the measured ${rps(p.capacityRps)}: the ` +
      'one-at-a-time samples alone miss what happens under load, the micro-batcher grouping requests into one ' +
      'session run (faster) and the workers contending for cores (slower). The simulation is seeded ' +
      `(seed ${seed}, ${p.simulatedRequests.toLocaleString('en-US')} requests a point after a warm-up) and checked ` +
      'against Erlang C (M/M/c) in its tests. The sustainable rate is the largest rate whose simulated p95 is within ' +
      'the limit with at most 0.1% shed, found by bisection.',
    '',
  ];
}

/** The whole plan as Markdown: inputs with sources, the model, Node, Workers, memory and the manifests. */
export function planMarkdown(plan: Plan): string {
  const p = plan.profile;
  const i = plan.inputs;
  const lines = [
    `# Capacity plan: ${i.bundle}, ${i.peakRps} requests/s at the peak, p95 <= ${i.sla.p95Ms} ms`,
    '',
    `Generated by \`shipshape plan\` at ${plan.createdAt}. Requests of ${i.textsPerRequest} text(s), as measured.`,
    '',
    ...selfCheckMarkdown(p),
    '## Inputs',
    '',
    '| input | value | source |',
    '| --- | --- | --- |',
    `| report | ${i.report.mode} run of ${i.report.createdAt} | ${i.report.path} (${i.report.machine}, ${i.report.cores} cores) |`,
    `| p95 limit | ${i.sla.p95Ms} ms | ${i.sla.source}${i.sla.path === null ? '' : ` in ${i.sla.path}`} |`,
    `| peak | ${i.peakRps} requests/s | --peak-rps |`,
    `| headroom | ${pct(i.headroom)} | --headroom |`,
    ...(p === null
      ? [
          `| service profile | none: the report has no HTTP measurements, so no Node plan | ${i.report.path} |`,
        ]
      : [
          `| service profile | ${p.serviceSamples} service times (mean ${ms(p.serviceMeanMs)}, p95 ${ms(p.serviceP95Ms)}), ${p.servers} workers, ${rps(p.capacityRps)} capacity | ${p.source} |`,
          `| admission wait | ${p.maxQueueWaitMs} ms | edge config maxQueueWaitMs |`,
          `| self-check | ${p.selfCheck === null ? '**none**: not self-checked' : `${p.selfCheck.verdict}${p.selfCheck.status === 'ok' ? '' : ` (${p.selfCheck.status})`}`} | ${p.selfCheck?.scenario ?? 'no http-capacity scenario for this bundle in the report'} |`,
        ]),
    `| serving batch size | ${i.batchSize} | edge config batchSize |`,
    '',
    ...(p === null ? [] : modelMarkdown(p, i.seed)),
    ...nodeMarkdown(plan),
    ...workersMarkdown(plan),
    memoryMarkdown(plan),
  ];
  if (plan.node !== null) {
    lines.push(
      '## Manifests',
      '',
      ...plan.files.filter((f) => f.startsWith('k8s/')).map((f) => `- [${f}](${f})`),
      '',
      'Every manifest was validated against the Kubernetes (kubernetes-models) or KEDA (@kubernetes-models/keda) ' +
        'schema before it was written. **Apply one autoscaler, not both**: KEDA creates and owns an HPA of its ' +
        'own for the ScaledObject, and two HPAs on one Deployment fight over its replicas.',
      '',
      '```sh',
      `kubectl apply -f k8s/deployment.yaml -f k8s/service.yaml`,
      'kubectl apply -f k8s/keda-scaledobject.yaml   # with KEDA and Prometheus scraping the pods',
      '# or: kubectl apply -f k8s/hpa.yaml           # CPU only, no Prometheus needed',
      '```',
      '',
      `The KEDA query assumes Prometheus keeps the Pods' \`namespace\` and \`app\` labels (the usual ` +
        '`kubernetes-pods` scrape job with the `prometheus.io/*` annotations does); adjust it to your scrape config. ' +
        'The preStop hook uses the `sleep` action (Kubernetes 1.30 and later).',
      '',
    );
  }
  return lines.join('\n');
}
