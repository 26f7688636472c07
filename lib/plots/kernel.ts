/** Content of one Jupyter display_data message as tslab sends it. */
export interface DisplayContent {
  data: Record<string, string>;
  metadata: Record<string, unknown>;
  transient: Record<string, unknown>;
}

export type DisplaySender = (content: DisplayContent, update: boolean) => void;

/**
 * tslab's channel for display_data, when this process is a tslab kernel that is executing cells.
 * tslab's public `display` sends one MIME type per message, but the function behind it
 * (`jupyter.lastWriteDisplayData`) sends any bundle, so one output can carry HTML, PNG and text
 * together. Looked up in the module cache so that a plain Node process never loads tslab (and
 * ZeroMQ) just to learn that there is no kernel.
 */
export function tslabDisplaySender(): DisplaySender | undefined {
  for (const key of Object.keys(require.cache)) {
    if (/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) {
      const send = (require.cache[key]?.exports as { lastWriteDisplayData?: unknown } | undefined)
        ?.lastWriteDisplayData;
      if (typeof send === 'function') return send as DisplaySender;
    }
  }
  return undefined;
}

export function inNotebookKernel(): boolean {
  return tslabDisplaySender() !== undefined;
}
