// `shipshape plan`: replicas, resources, autoscaling manifests, the Workers checks and memory needs from a bench
// report and the SLA, through the capacity model (bench/capacity/model.ts).
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { readReport, type Report } from '../../bench/report.ts';
import { readSla, type Sla } from '../../bench/sla.ts';
import { DEFAULT_CONFIG } from '../../edge/config.ts';
import { isPlanError } from '../../ops/plan/errors.ts';
import { countParameters, type ParameterCount } from '../../ops/plan/memory.ts';
import { memoryMarkdown } from '../../ops/plan/markdown.ts';
import { writePlan } from '../../ops/plan/output.ts';
import {
  buildPlan,
  chooseProfile,
  configuredBundle,
  planMemory,
  PLAN_DEFAULTS,
  type PlanTarget,
} from '../../ops/plan/plan.ts';
import { DEFAULT_PRICING, readNodePricing, readWorkersPricing } from '../../ops/plan/pricing.ts';
import type { Plan } from '../../ops/plan/schema.ts';
import { resolveBundleDir } from '../bundle-arg.ts';
import { DEFAULT_SLA } from './defaults.ts';
import { messageOf } from '../../runtime/errors.ts';

interface PlanFlags {
  report: string;
  sla?: string;
  peakRps?: number;
  p95Ms?: number;
  target: PlanTarget;
  headroom: number;
  minReplicas: number;
  maxReplicas?: number;
  maxMonthlyUsd?: number;
  batchSize: number;
  bundle?: string;
  image: string;
  name: string;
  namespace: string;
  prometheusUrl: string;
  scrapeInterval: number;
  nodePricing: string;
  workersPricing: string;
  seed: number;
  memory?: boolean;
  out?: string;
}

function positiveNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`${flag} is "${value}"; use a number above 0.`);
    return n;
  };
}

function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value.trim()) || n < 1)
      throw new InvalidArgumentError(`${flag} is "${value}"; use a whole number >= 1.`);
    return n;
  };
}

function parseHeadroom(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n < 0.9))
    throw new InvalidArgumentError(`--headroom is "${value}"; use a share from 0 up to 0.9, e.g. 0.25.`);
  return n;
}

/**
 * --min-replicas below 2 is refused: one replica is an outage on every rollout, node drain or crash, which the
 * seed's rule (at least 2 for availability) exists to prevent. There is no override.
 */
function parseMinReplicas(value: string): number {
  const n = positiveInteger('--min-replicas')(value);
  if (n < 2)
    throw new InvalidArgumentError(
      `--min-replicas is ${n}; use 2 or more: one replica is down on every rollout, node drain or crash.`,
    );
  return n;
}

/** A scrape interval: seconds (`30`, `30s`) or minutes (`1m`). */
function parseScrapeInterval(value: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(s|m)?$/.exec(value.trim());
  const n = match === null ? NaN : Number(match[1]) * (match[2] === 'm' ? 60 : 1);
  if (!(n > 0))
    throw new InvalidArgumentError(
      `--scrape-interval is "${value}"; use seconds or minutes, e.g. 30s or 1m.`,
    );
  return n;
}

function parseTarget(value: string): PlanTarget {
  if (value !== 'node' && value !== 'workers' && value !== 'both')
    throw new InvalidArgumentError(`--target is "${value}"; use node, workers or both.`);
  return value;
}

/** The bundle's parameters for the naive formula: `--bundle`, else the report's bundle by name under artifacts/. */
async function readParameters(
  report: Report,
  bundle: string,
  flag: string | undefined,
): Promise<{ parameters: ParameterCount | null; note?: string }> {
  let dir: string;
  try {
    dir = resolveBundleDir(flag ?? bundle);
  } catch (error) {
    return { parameters: null, note: messageOf(error) };
  }
  try {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as {
      name?: string;
      model?: { file?: string };
    };
    if (flag === undefined && manifest.name !== bundle)
      return { parameters: null, note: `${dir} holds ${String(manifest.name)}, not ${bundle}` };
    const model = new Uint8Array(await readFile(join(dir, manifest.model?.file ?? 'model.onnx')));
    const plan = report.memoryPlans.find((p) => p.bundle === bundle);
    if (plan !== undefined && plan.weightsBytes !== model.byteLength)
      return {
        parameters: countParameters(model),
        note: `the model in ${dir} has ${model.byteLength} bytes, the report's ${plan.weightsBytes}: another export?`,
      };
    return { parameters: countParameters(model) };
  } catch (error) {
    return { parameters: null, note: `cannot read the model in ${dir} (${messageOf(error)})` };
  }
}

const MIB = 1024 * 1024;
const mib = (bytes: number | null | undefined) => (bytes == null ? 'n/a' : `${(bytes / MIB).toFixed(1)} MiB`);

function selfCheckLines(profile: Plan['profile']): string[] {
  if (profile === null) return [];
  const check = profile.selfCheck;
  return [
    ...(check === null
      ? []
      : [
          `Self-check: ${check.scenario} in this report, verdict ${check.verdict}` +
            (check.status === 'ok' ? '' : ` (measurement ${check.status})`),
        ]),
    ...(profile.caution === null ? [] : [`WARNING: ${profile.caution}`]),
  ];
}

/** The terminal summary: replicas, per-replica rates and resources, the Workers verdict, memory, files. */
export function describePlan(plan: Plan, outDir: string): string {
  const lines = [
    `Plan for ${plan.inputs.bundle}: peak ${plan.inputs.peakRps} requests/s, p95 <= ${plan.inputs.sla.p95Ms} ms (${plan.inputs.sla.source})`,
    plan.profile === null
      ? 'Profile: none (no HTTP measurements in the report): Workers and memory only'
      : `Profile: ${plan.profile.servers} workers, ${plan.profile.capacityRps.toFixed(0)} requests/s capacity per replica (${plan.profile.source})`,
    ...selfCheckLines(plan.profile),
  ];
  const node = plan.node;
  if (node !== null) {
    const r = node.resources;
    lines.push(
      `Node: ${node.sustainableRps.toFixed(0)} requests/s sustainable per replica (p95 ${node.atSustainable.p95Ms.toFixed(1)} ms), ` +
        `planned ${node.plannedRps.toFixed(0)} with ${Math.round(plan.inputs.headroom * 100)}% headroom -> ` +
        `${node.replicasAtPeak} replicas at the peak (p95 ${node.atPeak.p95Ms.toFixed(1)} ms), min ${node.minReplicas}, max ${node.maxReplicas}`,
      `  per replica: cpu ${r.cpuRequestMillicores}m request / ${r.cpuLimitMillicores}m limit, memory ` +
        `${mib(r.memoryRequestBytes)} / ${mib(r.memoryLimitBytes)}, --workers ${r.workers}; ` +
        `$${node.cost.perReplicaMonthlyUsd.toFixed(2)}/month each`,
      `  autoscaling: KEDA at ${node.autoscaling.kedaThresholdRps} requests/s per replica, or HPA at ${node.autoscaling.hpaCpuUtilisationPct}% CPU (apply one)`,
      `  naive count (peak / throughput): ${node.naive.replicas} replica(s) at ${(node.naive.point.utilisation * 100).toFixed(0)}% of capacity`,
    );
  }
  const w = plan.workers;
  if (w !== null) {
    const paid = w.checks.find((c) => c.plan === 'paid');
    const verdict =
      w.cpuMsPerRequest === null || w.isolateBytes === null
        ? 'not judged (the report has no in-process WASM scenario or WASM memory plan for the bundle)'
        : w.recommended === null
          ? 'no plan fits'
          : `the ${w.recommended} plan fits`;
    lines.push(
      `Workers: ${verdict}; ` +
        `CPU ${w.cpuMsPerRequest?.toFixed(3) ?? 'n/a'} ms per request, isolate ${mib(w.isolateBytes)} of 128 MiB, ` +
        `upload ${mib(w.uploadGzipBytes)} gzip; Paid at the peak all month $${paid?.monthlyUsd?.toFixed(2) ?? 'n/a'}`,
    );
  }
  const m = plan.memory;
  lines.push(
    `Memory (batch ${m.batchSize}): replica ${mib(m.replica?.minimumBytes)} minimum, ${mib(m.replica?.recommendedBytes)} recommended; ` +
      `isolate ${mib(m.isolate?.minimumBytes)} minimum, ${mib(m.isolate?.recommendedBytes)} recommended` +
      (m.replica?.naiveWrong ? `; naive formula ${m.replica.naiveWrong.split(':')[0]}` : ''),
    `Wrote ${plan.files.map((f) => join(outDir, f)).join(', ')}`,
    '',
  );
  return lines.join('\n');
}

async function runPlan(flags: PlanFlags, usage: (message: string) => never): Promise<void> {
  const report = await readReport(flags.report);
  const slaPath = flags.sla ?? (existsSync(DEFAULT_SLA) ? DEFAULT_SLA : undefined);
  const sla: Sla | null = slaPath === undefined ? null : await readSla(slaPath);
  const reportPath = relative(process.cwd(), flags.report) || flags.report;
  const { profile } = chooseProfile(report, reportPath, flags.bundle);
  const bundle = profile?.bundle ?? configuredBundle(report);
  const parameters = await readParameters(report, bundle, flags.bundle);

  if (flags.memory === true) {
    const needs = planMemory(report, {
      reportPath,
      ...(flags.bundle === undefined ? {} : { bundle: flags.bundle }),
      batchSize: flags.batchSize,
      parameters: parameters.parameters,
      ...(parameters.note === undefined ? {} : { parametersNote: parameters.note }),
      isolateBudgetBytes: (await readWorkersPricing(flags.workersPricing)).plans.paid.isolateMemoryBytes,
    });
    const text = memoryMarkdown({ memory: needs }, '#');
    process.stdout.write(text);
    if (flags.out !== undefined) {
      await mkdir(flags.out, { recursive: true });
      await writeFile(join(flags.out, 'memory.md'), text);
      await writeFile(join(flags.out, 'memory.json'), `${JSON.stringify(needs, null, 2)}\n`);
      process.stdout.write(`Wrote ${join(flags.out, 'memory.md')}, ${join(flags.out, 'memory.json')}\n`);
    }
    return;
  }
  if (flags.peakRps === undefined)
    return usage('--peak-rps is required for a full plan (or give --memory alone).');
  if (flags.out === undefined) return usage('--out is required for a full plan.');
  const [nodePricing, workersPricing] = await Promise.all([
    readNodePricing(flags.nodePricing),
    readWorkersPricing(flags.workersPricing),
  ]);
  // Progress only for a person watching: the simulations take a few seconds; scripts get the summary alone.
  const progress = (message: string) => {
    if (process.stderr.isTTY) process.stderr.write(`shipshape plan: ${message}\n`);
  };
  progress('simulating the queue (the sustainable rate, then the chart)');
  const plan = buildPlan({
    report,
    reportPath,
    ...(flags.bundle === undefined ? {} : { bundle: flags.bundle }),
    sla: { path: slaPath === undefined ? null : relative(process.cwd(), slaPath) || slaPath, value: sla },
    peakRps: flags.peakRps,
    ...(flags.p95Ms === undefined ? {} : { p95Ms: flags.p95Ms }),
    target: flags.target,
    headroom: flags.headroom,
    minReplicas: flags.minReplicas,
    ...(flags.maxReplicas === undefined ? {} : { maxReplicas: flags.maxReplicas }),
    ...(flags.maxMonthlyUsd === undefined ? {} : { maxMonthlyUsd: flags.maxMonthlyUsd }),
    batchSize: flags.batchSize,
    parameters: parameters.parameters,
    ...(parameters.note === undefined ? {} : { parametersNote: parameters.note }),
    nodePricing,
    workersPricing,
    deployment: {
      name: flags.name,
      namespace: flags.namespace,
      image: flags.image,
      prometheusUrl: flags.prometheusUrl,
      scrapeIntervalSeconds: flags.scrapeInterval,
    },
    seed: flags.seed,
    onProgress: progress,
  });
  const written = await writePlan(plan, flags.out);
  process.stdout.write(describePlan(written, flags.out));
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      'replicas, resources and autoscaling manifests for a peak load within the SLA, the Workers checks and ' +
        'memory needs, from a bench report (a queueing model driven by the measured service times)',
    )
    .requiredOption('-r, --report <file>', 'bench report (shipshape bench --serve) to plan from')
    .option('--sla <file>', 'SLA file: its http-open/* maxP95Ms is the p95 limit (default bench/sla.json)')
    .option(
      '--peak-rps <n>',
      'peak load in requests/s (required for a full plan)',
      positiveNumber('--peak-rps'),
    )
    .option(
      '--p95-ms <ms>',
      "p95 limit per replica (default the SLA's http-open/* maxP95Ms)",
      positiveNumber('--p95-ms'),
    )
    .option('--target <target>', 'node, workers or both', parseTarget, PLAN_DEFAULTS.target)
    .option(
      '--headroom <share>',
      'share of the sustainable rate kept spare',
      parseHeadroom,
      PLAN_DEFAULTS.headroom,
    )
    .option('--min-replicas <n>', 'fewest replicas (2 or more)', parseMinReplicas, PLAN_DEFAULTS.minReplicas)
    .option(
      '--max-replicas <n>',
      'most replicas (default 1.5x the replicas at the peak)',
      positiveInteger('--max-replicas'),
    )
    .option(
      '--max-monthly-usd <usd>',
      'cost cap: maxReplicas = what it pays for at the per-replica price (--node-pricing)',
      positiveNumber('--max-monthly-usd'),
    )
    .option(
      '--batch-size <n>',
      'serving batch size (edge config batchSize)',
      positiveInteger('--batch-size'),
      DEFAULT_CONFIG.batchSize,
    )
    .option(
      '-b, --bundle <name>',
      'the bundle to plan for, a name or folder: its profile in the report (default the self-checked one, the ' +
        "http-capacity scenario's) and its parameter count",
    )
    .option(
      '--image <image>',
      'container image holding the repository: it runs `node bin/shipshape.js serve`',
      PLAN_DEFAULTS.image,
    )
    .option('--name <name>', 'Deployment, Service and autoscaler name', PLAN_DEFAULTS.name)
    .option('--namespace <ns>', 'Kubernetes namespace', PLAN_DEFAULTS.namespace)
    .option(
      '--prometheus-url <url>',
      "Prometheus for KEDA's trigger (serverAddress)",
      PLAN_DEFAULTS.prometheusUrl,
    )
    .option(
      '--scrape-interval <duration>',
      "Prometheus's scrape interval for the service (30s, 1m): KEDA's rate window is 4x it, in whole minutes",
      parseScrapeInterval,
      PLAN_DEFAULTS.scrapeIntervalSeconds,
    )
    .addOption(
      new Option('--node-pricing <file>', 'price table for replicas').default(
        DEFAULT_PRICING.node,
        'ops/pricing/node.json',
      ),
    )
    .addOption(
      new Option('--workers-pricing <file>', 'price table for Cloudflare Workers').default(
        DEFAULT_PRICING.workers,
        'ops/pricing/workers.json',
      ),
    )
    .option('--seed <n>', 'seed of the simulation', positiveInteger('--seed'), PLAN_DEFAULTS.seed)
    .option('--memory', 'only the memory needs (minimum and recommended per replica and per isolate)')
    .option('-o, --out <dir>', 'folder for plan.md, plan.json, plan-load.svg and k8s/')
    .action(async (flags: PlanFlags, command: Command) => {
      try {
        await runPlan(flags, (message) => command.error(`error: ${message}`, { exitCode: 2 }));
      } catch (error) {
        if (!isPlanError(error)) throw error;
        process.stderr.write(`shipshape: ${error.code}: ${error.message}\n`);
        process.exitCode = 1;
      }
    });
}
