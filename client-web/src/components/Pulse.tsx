// The Pulse view (issue 15, "trends, as pictures"): the transformation
// team's, leaders' and admins' charts of questions asked and answered per
// day, time to answer, the open queue's ages, activity by room, the
// most-voted open questions and (team only) watched phrases per week.
//
// Charts are hand-written SVG: a few bar and line charts need scales, axes
// and paths, not a library (see docs/architecture.md). Each chart is a
// `role="img"` with an `aria-label` summarising its numbers, has a data
// table toggle and a "Download CSV" of exactly the numbers drawn.

import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import type { ChatStore } from '../store';
import type { PulseBroadcast } from '../protocol';
import {
  OPEN_AGE_LABELS,
  PulseData,
  RANGES,
  activityTable,
  answerTimeTable,
  bucketLabels,
  downloadCsv,
  mayViewPulse,
  openAgeTable,
  pulseTimeText,
  questionsTable,
  shortDuration,
  topQuestionsTable,
  watchTable,
  percent,
  reachTable,
  type ChartTable,
} from '../pulse';
import { roomHref } from '../router';

const W = 640;
const H = 220;
const PAD = { left: 40, right: 10, top: 10, bottom: 34 };
/** Distinguishable in light and dark themes; lines past eight repeat colours. */
const PALETTE = ['#2f6fdd', '#e0792b', '#2f9e5a', '#c4415a', '#8a5cd6', '#1c9aa6', '#a88a1f', '#6b7280'];

interface Series {
  name: string;
  values: number[];
}

/** The smallest "round" number (1, 2, 5 × 10^k) at or above `max`. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** Which x labels to print so they do not overlap (about eight). */
function shownLabel(i: number, n: number): boolean {
  if (n <= 8 || i === n - 1) return true;
  const step = Math.ceil(n / 8);
  // The last label is always shown: drop a regular one too close to it.
  return i % step === 0 && n - 1 - i > step / 2;
}

function Axes({ labels, max }: { labels: string[]; max: number }) {
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(labels.length, 1);
  return (
    <g class="pulse-axes" aria-hidden="true">
      {[0, 0.5, 1].map((f) => {
        const y = PAD.top + plotH * (1 - f);
        return (
          <g key={f}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} class="pulse-grid" />
            <text x={PAD.left - 4} y={y + 4} text-anchor="end">
              {Math.round(max * f * 10) / 10}
            </text>
          </g>
        );
      })}
      {labels.map((l, i) =>
        shownLabel(i, labels.length) ? (
          <text key={i} x={PAD.left + slot * (i + 0.5)} y={H - PAD.bottom + 16} text-anchor="middle">
            {l}
          </text>
        ) : null,
      )}
    </g>
  );
}

function Bars({ labels, series }: { labels: string[]; series: Series[] }) {
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(labels.length, 1);
  const bar = (slot * 0.8) / Math.max(series.length, 1);
  return (
    <>
      <Axes labels={labels} max={max} />
      {series.map((s, si) => (
        <g key={s.name} fill={PALETTE[si % PALETTE.length]}>
          {s.values.map((v, i) => {
            const h = (v / max) * plotH;
            return (
              <rect key={i} x={PAD.left + slot * i + slot * 0.1 + bar * si} y={PAD.top + plotH - h} width={bar} height={h}>
                <title>{`${labels[i]}: ${s.name} ${v}`}</title>
              </rect>
            );
          })}
        </g>
      ))}
    </>
  );
}

function Lines({ labels, series }: { labels: string[]; series: Series[] }) {
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(labels.length, 1);
  const x = (i: number) => PAD.left + slot * (i + 0.5);
  const y = (v: number) => PAD.top + plotH * (1 - v / max);
  return (
    <>
      <Axes labels={labels} max={max} />
      {series.map((s, si) => (
        <g key={s.name} stroke={PALETTE[si % PALETTE.length]} fill={PALETTE[si % PALETTE.length]}>
          <polyline fill="none" stroke-width="2" points={s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ')} />
          {s.values.length <= 60 &&
            s.values.map((v, i) => (
              <circle key={i} cx={x(i)} cy={y(v)} r="2.5">
                <title>{`${labels[i]}: ${s.name} ${v}`}</title>
              </circle>
            ))}
        </g>
      ))}
    </>
  );
}

function Legend({ series }: { series: Series[] }) {
  if (series.length < 2) return null;
  return (
    <ul class="pulse-legend" aria-hidden="true">
      {series.map((s, i) => (
        <li key={s.name}>
          <span class="pulse-swatch" style={{ background: PALETTE[i % PALETTE.length] }} />
          {s.name}
        </li>
      ))}
    </ul>
  );
}

function DataTable({ table, caption }: { table: ChartTable; caption: string }) {
  return (
    <div class="pulse-table-wrap">
      <table class="pulse-table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            {table.columns.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.map((row, i) => (
            <tr key={i}>
              {row.map((v, j) => (
                <td key={j}>{v}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ChartCard(props: {
  id: string;
  title: string;
  summary: string;
  table: ChartTable;
  children?: ComponentChildren;
  svg?: ComponentChildren;
}) {
  const [showTable, setShowTable] = useState(false);
  const { id, title, summary, table } = props;
  return (
    <section class="pulse-card" aria-labelledby={`pulse-${id}`} data-testid={`pulse-${id}`}>
      <h2 id={`pulse-${id}`}>{title}</h2>
      {props.svg && (
        <svg class="pulse-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
          {props.svg}
        </svg>
      )}
      {props.children}
      <p class="muted pulse-summary">{summary}</p>
      <div class="pulse-actions">
        <button type="button" aria-expanded={showTable} onClick={() => setShowTable(!showTable)}>
          {showTable ? 'Hide table' : 'Show table'}
        </button>{' '}
        <button type="button" data-testid={`pulse-${id}-csv`} onClick={() => downloadCsv(`pulse-${id}.csv`, table)}>
          Download CSV
        </button>
      </div>
      {showTable && <DataTable table={table} caption={title} />}
    </section>
  );
}

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

/** "1 vote", "3 votes". */
const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** "11-30" from "2026-11-30": days on a chart axis. */
const shortDay = (d: string) => d.slice(5);

export function PulseView({ store }: { store: ChatStore }) {
  const data = useMemo(() => new PulseData((f) => store.conn.request(f)), [store]);
  const allowed = mayViewPulse(store.me.role, store.transformationTeam);
  useEffect(() => {
    if (!allowed) return;
    void data.load();
    if (store.transformationTeam) void store.watch.loadCounts().catch(() => {});
  }, [data, allowed]);
  if (!allowed) {
    return (
      <section class="anon-view">
        <h1>Pulse</h1>
        <p>Only the transformation team, leaders and admins see the pulse.</p>
      </section>
    );
  }
  const r = data.report.value;
  return (
    <section class="anon-view pulse-view" aria-labelledby="pulse-title">
      <h1 id="pulse-title">Pulse</h1>
      <p class="muted">
        Numbers cover only the rooms you can read{r ? ` (${r.rooms_counted})` : ''}: your rooms and public rooms,
        never direct messages. Days are UTC.
      </p>
      <div class="pulse-range" role="group" aria-label="Range">
        {RANGES.map((d) => (
          <button
            key={d}
            type="button"
            aria-pressed={data.days.value === d}
            onClick={() => void data.load(d)}
          >
            {d === 366 ? 'Year' : `${d} days`}
          </button>
        ))}
      </div>
      {data.error.value && (
        <p class="error" role="alert">
          {data.error.value}
        </p>
      )}
      {!r ? (
        <p class="muted">{data.loading.value ? 'Loading…' : ''}</p>
      ) : (
        <Charts data={data} store={store} />
      )}
    </section>
  );
}

function Charts({ data, store }: { data: PulseData; store: ChatStore }) {
  const r = data.report.value;
  if (!r) return null;
  const days = r.days.map(shortDay);
  // Oldest first, as every other chart reads left to right.
  const reach = [...(r.broadcasts ?? [])].reverse();
  const share = (pick: (b: PulseBroadcast) => number) => reach.map((b) => percent(pick(b), b.audience));
  const reachSeries = [
    { name: 'opened 1 h %', values: share((b) => b.opened_1h) },
    { name: 'opened 24 h %', values: share((b) => b.opened_24h) },
    { name: 'acknowledged 1 h %', values: share((b) => b.acknowledged_1h) },
    { name: 'acknowledged 24 h %', values: share((b) => b.acknowledged_24h) },
  ];
  const asked = sum(r.asked);
  const answered = sum(r.answered);
  const bucketNames = bucketLabels(r.answer_buckets_ms);
  const median = pulseTimeText(r.answer_median, r.answer_buckets_ms);
  const p90 = pulseTimeText(r.answer_p90, r.answer_buckets_ms);
  const openTotal = sum(r.open_age);
  const roomSeries: Series[] = r.rooms.map((x) => ({ name: x.name, values: x.messages }));
  if (r.other_rooms.some((n) => n > 0)) roomSeries.push({ name: 'other rooms', values: r.other_rooms });
  const busiest = r.rooms[0];
  const weeks = store.watch.weeks.value;
  const phrases = store.watch.counts.value;
  return (
    <div class="pulse-grid-cards">
      <ChartCard
        id="questions"
        title="Questions asked and answered per day"
        summary={`${count(asked, 'question', 'questions')} asked and ${answered} answered in the last ${r.days.length} days.`}
        table={questionsTable(r)}
        svg={
          <Bars
            labels={days}
            series={[
              { name: 'asked', values: r.asked },
              { name: 'answered', values: r.answered },
            ]}
          />
        }
      >
        <Legend series={[{ name: 'asked', values: [] }, { name: 'answered', values: [] }]} />
        <p class="pulse-figures">
          <span data-testid="pulse-asked">{asked}</span> asked ·{' '}
          <span data-testid="pulse-answered">{answered}</span> answered
        </p>
      </ChartCard>
      <ChartCard
        id="answer-time"
        title="Time to answer"
        summary={`Median ${median}, 90th percentile ${p90}${
          r.answer_mean_ms !== undefined ? `, mean ${shortDuration(r.answer_mean_ms)}` : ''
        }, over ${count(answered, 'answered question', 'answered questions')}.`}
        table={answerTimeTable(r)}
        svg={<Bars labels={bucketNames} series={[{ name: 'answered', values: r.answer_histogram }]} />}
      />
      <ChartCard
        id="open-age"
        title="Open questions by age"
        summary={`${count(openTotal, 'open question', 'open questions')}: ${r.open_age
          .map((n, i) => `${n} ${OPEN_AGE_LABELS[i]}`)
          .join(', ')}.`}
        table={openAgeTable(r)}
        svg={<Bars labels={OPEN_AGE_LABELS} series={[{ name: 'open', values: r.open_age }]} />}
      />
      <ChartCard
        id="activity"
        title="Messages by room per day"
        summary={`${count(sum(r.messages), 'message', 'messages')} in ${count(r.rooms.length, 'active room', 'active rooms')}${
          busiest ? `; busiest: ${busiest.name} (${sum(busiest.messages)})` : ''
        }.`}
        table={activityTable(r)}
        svg={<Lines labels={days} series={roomSeries} />}
      >
        <Legend series={roomSeries} />
      </ChartCard>
      <ChartCard
        id="top-questions"
        title="Most-voted open questions"
        summary={
          r.top_questions.length === 0
            ? 'No open question has votes.'
            : `${count(r.top_questions.length, 'open question', 'open questions')} with votes; the top one has ${count(r.top_questions[0]?.votes ?? 0, 'vote', 'votes')}.`
        }
        table={topQuestionsTable(r)}
      >
        <ol class="pulse-top">
          {r.top_questions.map((q) => (
            <li key={`${q.room}/${q.seq}`}>
              <span class="pulse-votes" aria-label={`${q.votes} votes`}>
                {q.votes}
              </span>{' '}
              <a href={roomHref(q.room, q.seq)}>{q.body}</a> <span class="muted">in {q.room_name}</span>
            </li>
          ))}
        </ol>
      </ChartCard>
      <ChartCard
        id="reach"
        title="Broadcast reach within 1 h / 24 h"
        summary={
          reach.length === 0
            ? 'No broadcast in this range.'
            : `${count(reach.length, 'broadcast', 'broadcasts')}, oldest first; share of each audience: ${reach
                .map(
                  (b) =>
                    `“${b.snippet}”: opened ${percent(b.opened_1h, b.audience)}% in 1 h, ${percent(b.opened_24h, b.audience)}% in 24 h; acknowledged ${percent(
                      b.acknowledged_1h,
                      b.audience,
                    )}% in 1 h, ${percent(b.acknowledged_24h, b.audience)}% in 24 h`,
                )
                .join('; ')}.`
        }
        table={reachTable(r)}
        svg={reach.length > 0 ? <Bars labels={reach.map((b) => shortDay(new Date(b.sent_at).toISOString().slice(0, 10)))} series={reachSeries} /> : undefined}
      >
        {reach.length > 0 && <Legend series={reachSeries} />}
      </ChartCard>
      {store.transformationTeam && (
        <ChartCard
          id="watch"
          title="Watched phrases per week"
          summary={
            phrases.length === 0
              ? 'No phrase is watched.'
              : `${count(phrases.length, 'watched phrase', 'watched phrases')} over ${weeks.length} weeks; ${phrases
                  .map((p) => `${p.phrase}: ${sum(p.counts)}`)
                  .join(', ')}.`
          }
          table={watchTable(weeks, phrases)}
          svg={
            phrases.length > 0 ? (
              <Lines labels={weeks.map((w) => w.slice(5))} series={phrases.map((p) => ({ name: p.phrase, values: p.counts }))} />
            ) : undefined
          }
        >
          <Legend series={phrases.map((p) => ({ name: p.phrase, values: p.counts }))} />
        </ChartCard>
      )}
    </div>
  );
}
