/**
 * Private: yamux window updates at half a window, as Go's yamux sends them.
 *
 * @libp2p/yamux 8 answers every data frame with a window update frame, so a
 * small remote call cost four frames (two noise frames, two TCP segments
 * more) where two would do. Go's yamux (and the spec's intent) waits until
 * at least half the receive window is used before granting it back; this
 * module makes @libp2p/yamux do the same. The sender may still have up to a
 * whole window in flight, so the bound on what a paused stream can receive
 * (`YAMUX_MAX_STREAM_WINDOW`, see `FrameReader`) is unchanged, and a stream
 * that opens, acknowledges, resumes or is reset still sends its frame at once.
 *
 * Importing it patches `YamuxStream.prototype` once; there is no other hook
 * (the threshold is not an option of @libp2p/yamux).
 *
 * @module
 */
import { StreamState, YamuxStream } from "@libp2p/yamux/stream";

/** The fields of a yamux stream the threshold reads (private in its types). */
interface WindowFields {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
}

const proto = YamuxStream.prototype as unknown as { sendWindowUpdate(): void };
const sendWindowUpdate = proto.sendWindowUpdate;
if (typeof sendWindowUpdate !== "function") {
  throw new Error("@libp2p/yamux: YamuxStream has no sendWindowUpdate (version changed?)");
}

/** True when a window update may wait: the stream is established and has more than half its window left. */
export function updateCanWait(s: WindowFields): boolean {
  return s.state === StreamState.Established && s.recvWindowCapacity > s.recvWindow / 2;
}

proto.sendWindowUpdate = function (this: WindowFields) {
  if (updateCanWait(this)) return;
  sendWindowUpdate.call(this);
};
