// The types tests/integration/test_dashboards.py checks each dashboard JSON against: Grafana's own published
// schema (@grafana/schema, pinned to the Grafana image), with two adjustments named below.
import type { AnnotationQuery, DataSourceRef, Dashboard as SchemaDashboard } from '@grafana/schema';
import type * as stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as statetimeline from '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type * as table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as timeseries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

// The schema declares some fields as TypeScript string enums; dashboard JSON holds their string values.
export type Loose<T> = T extends string
  ? `${T}`
  : T extends (infer U)[]
    ? Loose<U>[]
    : T extends object
      ? { [K in keyof T]: Loose<T[K]> }
      : T;

// The query and fields the Prometheus datasource reads from its annotations; @grafana/schema leaves
// them to the datasource plugin (its target is a bare DataQuery), as it leaves panel targets.
interface PrometheusAnnotation {
  target?: { expr: string; refId: string; interval?: string };
  titleFormat?: string;
  textFormat?: string;
  tagKeys?: string;
  useValueForTime?: boolean;
}

export type Dashboard = Loose<Omit<SchemaDashboard, 'annotations'>> & {
  annotations?: { list?: Array<Loose<Omit<AnnotationQuery, 'target'>> & PrometheusAnnotation> };
};

// A Prometheus panel target: the fields the Prometheus datasource's query editor writes.
export interface PrometheusQuery {
  datasource: DataSourceRef;
  editorMode?: 'code' | 'builder';
  expr: string;
  format?: 'time_series' | 'table' | 'heatmap';
  instant?: boolean;
  interval?: string;
  legendFormat?: string;
  range?: boolean;
  refId: string;
}

// Panel options and custom field config per panel type, from each panel plugin's published schema.
export interface PanelOptions {
  stat: Loose<stat.Options>;
  'state-timeline': Loose<statetimeline.Options>;
  table: Loose<table.Options>;
  timeseries: Loose<timeseries.Options>;
}

export interface FieldCustom {
  'state-timeline': Loose<statetimeline.FieldConfig>;
  table: Loose<table.FieldConfig>;
  timeseries: Loose<timeseries.FieldConfig>;
}
