// A far-end phone of the telephony rig (scripts/sip-rig.sh): baresip's ctrl_tcp, netstring
// JSON commands (`{"command":"dial","params":"sip:2001@127.0.0.1"}`) and events.
import net from "node:net";

export class Baresip {
  static connect(address) {
    const [host, port] = address.split(":");
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), host, () => resolve(new Baresip(socket)));
      socket.once("error", reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.events = [];
    this.waiters = [];
    socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (;;) {
        const colon = this.buffer.indexOf(":");
        if (colon < 0) break;
        const length = Number(this.buffer.subarray(0, colon).toString());
        if (this.buffer.length < colon + 1 + length + 1) break;
        const message = JSON.parse(this.buffer.subarray(colon + 1, colon + 1 + length).toString());
        this.buffer = this.buffer.subarray(colon + 1 + length + 1);
        this.events.push(message);
        this.waiters.splice(0).forEach((w) => w());
      }
    });
  }

  command(command, params) {
    const body = JSON.stringify(params === undefined ? { command } : { command, params });
    this.socket.write(`${Buffer.byteLength(body)}:${body},`);
  }

  dial(uri) {
    this.events = [];
    this.command("dial", uri);
  }

  hangup() {
    this.command("hangup");
  }

  /** Waits for an event of this type (CALL_ESTABLISHED, CALL_CLOSED, ...). */
  async waitFor(type, timeout = 15000) {
    const until = Date.now() + timeout;
    for (;;) {
      const i = this.events.findIndex((e) => e.event && e.type === type);
      if (i >= 0) return this.events.splice(0, i + 1)[i];
      const left = until - Date.now();
      if (left <= 0) throw new Error(`baresip: no ${type} in ${timeout} ms: ${JSON.stringify(this.events)}`);
      await new Promise((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, Math.min(left, 500));
      });
    }
  }

  close() {
    this.socket.destroy();
  }
}
