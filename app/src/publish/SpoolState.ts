/**
 * Where the spooling publisher sends a new record: one state machine, changed only by {@link nextSpoolState}.
 *
 * ```
 *            directFailed                         roundConfirmedWhole, the round sent after the last direct failure
 *   direct ───────────────▶ spoolAll ─────────────────────────────────────────────────────────▶ spoolHeldKeys
 *     ▲ │                     ▲  │                                                              │  │
 *     │ │                     │  └──────────────────────── drained ─────────────────────────────┼──┼──▶ direct
 *     │ │                     └─────────────── directFailed or roundFailed ─────────────────────┘  │
 *     │ └──── appended (records another task spooled, adopted while writing directly) ────────────▶│
 *     └─────────────────────────────────────────── drained ───────────────────────────────────────┘
 * ```
 *
 * Per partition key the order holds in every state: a key the spool holds never goes direct, since its new
 * record would overtake the spooled ones.
 */
export type SpoolState =
  /** The spool is empty: every record goes to Kinesis directly. */
  | { readonly name: 'direct' }
  /**
   * Kinesis is not taking records in time: every new record goes to the spool, behind the older ones.
   * `roundSinceFailure`: the replay round in flight was sent after the last direct failure, so its whole
   * confirmation shows that Kinesis takes records now (a round sent before that failure is older news).
   */
  | { readonly name: 'spoolAll'; readonly roundSinceFailure: boolean }
  /** Kinesis takes records and the spool drains: records of keys the spool holds queue behind it, the others go direct. */
  | { readonly name: 'spoolHeldKeys' };

export type SpoolStateName = SpoolState['name'];

/** What the publisher and its replayer report. */
export type SpoolEvent =
  /** A direct publish failed or was not acknowledged within the deadline. */
  | { readonly type: 'directFailed' }
  /** Records became visible in the spool; they may come from elsewhere (a dead task's spool, adopted). */
  | { readonly type: 'appended' }
  /** The replayer sent a round. */
  | { readonly type: 'roundStarted' }
  /** Kinesis confirmed every record of the round. */
  | { readonly type: 'roundConfirmedWhole' }
  /** Some or all records of the round were not confirmed. */
  | { readonly type: 'roundFailed' }
  /** The spool is empty and no append is being written. */
  | { readonly type: 'drained' };

export const DIRECT: SpoolState = { name: 'direct' };
const SPOOL_ALL: SpoolState = { name: 'spoolAll', roundSinceFailure: false };
const SPOOL_ALL_ROUND_OUT: SpoolState = { name: 'spoolAll', roundSinceFailure: true };
const SPOOL_HELD_KEYS: SpoolState = { name: 'spoolHeldKeys' };

/** The state at start: records left on disk by a previous run are replayed before anything new. */
export function initialSpoolState(spoolHoldsRecords: boolean): SpoolState {
  return spoolHoldsRecords ? SPOOL_ALL : DIRECT;
}

/** The one transition function. */
export function nextSpoolState(state: SpoolState, event: SpoolEvent): SpoolState {
  switch (event.type) {
    case 'directFailed':
      return SPOOL_ALL;
    case 'roundFailed':
      // No round runs while the spool is empty; a late report of one changes nothing then.
      return state.name === 'direct' ? state : SPOOL_ALL;
    case 'appended':
      // Adopted while writing directly: Kinesis takes records, but the adopted keys must not be overtaken.
      return state.name === 'direct' ? SPOOL_HELD_KEYS : state;
    case 'roundStarted':
      return state.name === 'spoolAll' ? SPOOL_ALL_ROUND_OUT : state;
    case 'roundConfirmedWhole':
      return state.name === 'spoolAll' && state.roundSinceFailure ? SPOOL_HELD_KEYS : state;
    case 'drained':
      return DIRECT;
  }
}

/**
 * Where a new record goes: to Kinesis directly, to the spool, or, while the spool drains and holds its key,
 * after its key's spooled records (directly once they are confirmed, within the deadline; else to the spool).
 * Waiting rather than spooling is what lets a key under steady load leave the spool: spooled, each new record
 * would keep the key held for another round, however fast the rounds.
 */
export type SpoolRoute = 'direct' | 'spool' | 'afterKey';

export function routeOf(state: SpoolState, spoolHoldsKey: boolean): SpoolRoute {
  if (state.name === 'direct') return 'direct';
  if (state.name === 'spoolAll') return 'spool';
  return spoolHoldsKey ? 'afterKey' : 'direct';
}
