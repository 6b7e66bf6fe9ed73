/**
 * The ordering rules of SWIM membership news (SWIM paper §4.2, as hashicorp/memberlist applies
 * them): which update about another member wins over what we believe. Pure functions, so the
 * rules can be read and tested on their own; the table and its timers live in `swim.ts`.
 *
 * @module
 */
import type { MemberState, Update } from "./types.ts";

/** What we believe about a member, as far as ordering goes. */
export interface Belief {
  incarnation: number;
  state: MemberState;
}

/** Whether `state` counts as a member (for routing and placement): alive or suspect. */
export function isMember(state: MemberState): boolean {
  return state === "alive" || state === "suspect";
}

/**
 * The state we should hold after hearing `u` about a member we believe `cur` of (undefined:
 * unknown), or `undefined` when `u` changes nothing. Only the member itself raises its
 * incarnation, so:
 * - `alive` wins when its incarnation is higher (a refutation, or a return after dead/left);
 * - `suspect` wins over `alive` at the same or a higher incarnation, and over `suspect` at a higher one;
 * - `dead`/`left` win over alive and suspect at the same or a higher incarnation; `left` also
 *   replaces `dead` (a graceful leave explains the death); a higher incarnation of dead/left is
 *   remembered without a state change;
 * - about an unknown member only `alive` and `suspect` are taken (they carry its addresses).
 *
 * @example
 * ```ts
 * decide({ incarnation: 1, state: "alive" }, { id: "b", addrs: [], incarnation: 1, state: "suspect" });
 * // { incarnation: 1, state: "suspect" }
 * ```
 */
export function decide(cur: Belief | undefined, u: Update): Belief | undefined {
  if (!cur) {
    return isMember(u.state) && u.addrs.length > 0
      ? { incarnation: u.incarnation, state: u.state }
      : undefined;
  }
  const i = u.incarnation;
  switch (u.state) {
    case "alive":
      return i > cur.incarnation ? { incarnation: i, state: "alive" } : undefined;
    case "suspect":
      if (!isMember(cur.state)) return undefined;
      if (i > cur.incarnation || (i === cur.incarnation && cur.state === "alive")) {
        return { incarnation: i, state: "suspect" };
      }
      return undefined;
    case "dead":
    case "left":
      if (isMember(cur.state)) {
        return i >= cur.incarnation ? { incarnation: i, state: u.state } : undefined;
      }
      if (u.state === "left" && cur.state === "dead" && i >= cur.incarnation) {
        return { incarnation: i, state: "left" };
      }
      return i > cur.incarnation ? { incarnation: i, state: cur.state } : undefined;
  }
}

/**
 * Whether `u`, an update about ourselves at our incarnation `inc`, must be refuted: someone
 * suspects us, holds us dead, or says we left while we did not.
 *
 * @example
 * ```ts
 * mustRefute(3, { id: "me", addrs: [], incarnation: 3, state: "suspect" }, false); // true
 * ```
 */
export function mustRefute(inc: number, u: Update, leaving: boolean): boolean {
  if (u.state === "alive") return u.incarnation > inc;
  if (leaving) return false;
  return u.incarnation >= inc;
}
