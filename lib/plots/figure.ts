/**
 * Plain Plotly figure objects. Builders return these so that tests can read traces and axes
 * without a browser, and so that the same object can be shown in a notebook, exported to a file
 * or stored as JSON in a notebook output. Only the fields this project sets are typed; Plotly
 * accepts many more, hence the index signatures.
 */
export interface PlotTrace {
  type: string;
  name?: string;
  x?: ReadonlyArray<unknown>;
  y?: ReadonlyArray<unknown>;
  z?: ReadonlyArray<ReadonlyArray<number>>;
  [key: string]: unknown;
}

export interface AxisLayout {
  title?: { text: string };
  [key: string]: unknown;
}

export interface PlotLayout {
  title?: { text: string; [key: string]: unknown };
  width?: number;
  height?: number;
  xaxis?: AxisLayout;
  yaxis?: AxisLayout;
  annotations?: Array<Record<string, unknown>>;
  images?: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

export interface Figure {
  data: PlotTrace[];
  layout: PlotLayout;
}

/** Size a figure is rendered at when neither the layout nor the caller says otherwise. */
export const DEFAULT_WIDTH = 800;
export const DEFAULT_HEIGHT = 500;

export function figureSize(fig: Figure): { width: number; height: number } {
  return {
    width: fig.layout.width ?? DEFAULT_WIDTH,
    height: fig.layout.height ?? DEFAULT_HEIGHT,
  };
}
