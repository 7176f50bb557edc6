// Writes kibana/distcron.ndjson: the saved objects (data view, Lens charts, saved search,
// dashboard) in the format of Kibana's saved-objects export, importable into Kibana 8.9+ and 9.x.
// Run: node kibana/generate.mjs
import { writeFileSync } from 'node:fs';

const DATA_VIEW_ID = 'distcron-runs';
const FAILED = 'status:(failed or timed_out or error or lost)';
const CORE = { coreMigrationVersion: '8.8.0', managed: false };

const count = {
  label: 'Runs',
  dataType: 'number',
  operationType: 'count',
  isBucketed: false,
  scale: 'ratio',
  sourceField: '___records___',
  params: { emptyAsNull: true },
};

function dateHistogram() {
  return {
    label: '@timestamp',
    dataType: 'date',
    operationType: 'date_histogram',
    sourceField: '@timestamp',
    isBucketed: true,
    scale: 'interval',
    params: { interval: 'auto', includeEmptyRows: true, dropPartials: false },
  };
}

function terms(field, size, orderColumn) {
  return {
    label: `Top values of ${field}`,
    dataType: 'string',
    operationType: 'terms',
    sourceField: field,
    isBucketed: true,
    scale: 'ordinal',
    params: {
      size,
      orderBy: { type: 'column', columnId: orderColumn },
      orderDirection: 'desc',
      otherBucket: true,
      missingBucket: false,
      parentFormat: { id: 'terms' },
    },
  };
}

function percentile(field, pct) {
  return {
    label: `p${pct} ${field}`,
    dataType: 'number',
    operationType: 'percentile',
    sourceField: field,
    isBucketed: false,
    scale: 'ratio',
    params: { percentile: pct },
  };
}

function maxOf(field) {
  return {
    label: `Max ${field}`,
    dataType: 'number',
    operationType: 'max',
    sourceField: field,
    isBucketed: false,
    scale: 'ratio',
    params: { emptyAsNull: true },
  };
}

function lens(id, title, visualizationType, columns, visualization, query = '') {
  return {
    attributes: {
      title,
      description: '',
      visualizationType,
      state: {
        datasourceStates: {
          formBased: {
            layers: { layer1: { columns, columnOrder: Object.keys(columns), incompleteColumns: {} } },
          },
        },
        visualization,
        query: { query, language: 'kuery' },
        filters: [],
        internalReferences: [],
        adHocDataViews: {},
      },
    },
    id,
    references: [{ type: 'index-pattern', id: DATA_VIEW_ID, name: 'indexpattern-datasource-layer-layer1' }],
    type: 'lens',
    typeMigrationVersion: '8.9.0',
    ...CORE,
  };
}

function xy(seriesType, x, accessors, split) {
  const layer = {
    layerId: 'layer1',
    layerType: 'data',
    seriesType,
    xAccessor: x,
    accessors,
    position: 'top',
    showGridlines: false,
  };
  if (split) layer.splitAccessor = split;
  return {
    legend: { isVisible: true, position: 'right' },
    valueLabels: 'hide',
    preferredSeriesType: seriesType,
    layers: [layer],
  };
}

const dataView = {
  attributes: {
    title: 'distcron-runs-*',
    name: 'distcron runs',
    timeFieldName: '@timestamp',
    allowNoIndex: true,
    fields: '[]',
    fieldAttrs: '{}',
    fieldFormatMap: JSON.stringify({
      duration_ms: {
        id: 'duration',
        params: { inputFormat: 'milliseconds', outputFormat: 'humanizePrecise' },
      },
    }),
    runtimeFieldMap: '{}',
    sourceFilters: '[]',
    typeMeta: '{}',
  },
  id: DATA_VIEW_ID,
  references: [],
  type: 'index-pattern',
  typeMigrationVersion: '8.0.0',
  ...CORE,
};

const runsByStatus = lens(
  'distcron-runs-over-time-by-status',
  'distcron: runs over time by status',
  'lnsXY',
  { 'col-time': dateHistogram(), 'col-status': terms('status', 10, 'col-count'), 'col-count': count },
  xy('bar_stacked', 'col-time', ['col-count'], 'col-status'),
);

const failuresByJob = lens(
  'distcron-failures-by-job',
  'distcron: failures by job',
  'lnsXY',
  { 'col-job': terms('job', 20, 'col-count'), 'col-count': count },
  xy('bar_horizontal', 'col-job', ['col-count']),
  FAILED,
);

const percentileColumns = {
  'col-p50': percentile('duration_ms', 50),
  'col-p95': percentile('duration_ms', 95),
  'col-p99': percentile('duration_ms', 99),
};
const durationPercentiles = lens(
  'distcron-duration-percentiles-by-job',
  'distcron: duration percentiles by job (ms)',
  'lnsDatatable',
  { 'col-job': terms('job', 50, 'col-p95'), ...percentileColumns },
  {
    layerId: 'layer1',
    layerType: 'data',
    columns: ['col-job', ...Object.keys(percentileColumns)].map((columnId) => ({ columnId })),
  },
);

const slowestJobs = lens(
  'distcron-slowest-jobs',
  'distcron: slowest jobs (max duration, ms)',
  'lnsXY',
  { 'col-job': terms('job', 10, 'col-max'), 'col-max': maxOf('duration_ms') },
  xy('bar_horizontal', 'col-job', ['col-max']),
);

const latestFailures = {
  attributes: {
    title: 'distcron: latest failures',
    description: 'Failed, timed out, errored and lost runs, newest first',
    columns: ['job', 'node', 'host', 'exit_code', 'status', 'error'],
    sort: [['@timestamp', 'desc']],
    grid: {},
    hideChart: true,
    kibanaSavedObjectMeta: {
      searchSourceJSON: JSON.stringify({
        query: { query: FAILED, language: 'kuery' },
        filter: [],
        indexRefName: 'kibanaSavedObjectMeta.searchSourceJSON.index',
      }),
    },
  },
  id: 'distcron-latest-failures',
  references: [
    { type: 'index-pattern', id: DATA_VIEW_ID, name: 'kibanaSavedObjectMeta.searchSourceJSON.index' },
  ],
  type: 'search',
  typeMigrationVersion: '8.0.0',
  ...CORE,
};

const panels = [
  [runsByStatus, 0, 0, 48, 14],
  [failuresByJob, 0, 14, 24, 14],
  [durationPercentiles, 24, 14, 24, 14],
  [slowestJobs, 0, 28, 24, 14],
  [latestFailures, 24, 28, 24, 14],
];

const dashboard = {
  attributes: {
    title: 'distcron runs',
    description:
      'Runs over time by status, failures by job, duration percentiles, slowest jobs, latest failures',
    panelsJSON: JSON.stringify(
      panels.map(([object, x, y, w, h], i) => ({
        version: '8.9.0',
        type: object.type,
        gridData: { x, y, w, h, i: `p${i + 1}` },
        panelIndex: `p${i + 1}`,
        embeddableConfig: { enhancements: {} },
        panelRefName: `panel_p${i + 1}`,
      })),
    ),
    optionsJSON: JSON.stringify({
      useMargins: true,
      syncColors: false,
      syncCursor: true,
      syncTooltips: false,
      hidePanelTitles: false,
    }),
    timeRestore: true,
    timeFrom: 'now-7d',
    timeTo: 'now',
    refreshInterval: { pause: false, value: 60000 },
    version: 1,
    kibanaSavedObjectMeta: {
      searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }),
    },
  },
  id: 'distcron-dashboard',
  references: panels.map(([object], i) => ({
    name: `p${i + 1}:panel_p${i + 1}`,
    type: object.type,
    id: object.id,
  })),
  type: 'dashboard',
  typeMigrationVersion: '8.7.0',
  ...CORE,
};

const objects = [
  dataView,
  runsByStatus,
  failuresByJob,
  durationPercentiles,
  slowestJobs,
  latestFailures,
  dashboard,
];
const summary = {
  excludedObjects: [],
  excludedObjectsCount: 0,
  exportedCount: objects.length,
  missingRefCount: 0,
  missingReferences: [],
};
const text = [...objects, summary].map((o) => JSON.stringify(o)).join('\n') + '\n';
writeFileSync(new URL('./distcron.ndjson', import.meta.url), text);
