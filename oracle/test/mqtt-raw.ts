import { connect, type Socket } from "node:net";
import * as mqttPacket from "mqtt-packet";
import { waitFor } from "./helpers.ts";

/**
 * A raw MQTT 3.1.1 client for tests of the embedded endpoint: writes packets from mqtt-packet, or
 * bytes it would not write, and parses whatever the server sends back, so that byte order,
 * framing and protocol errors can be checked exactly.
 */
export class RawClient {
  readonly socket: Socket;
  readonly packets: mqttPacket.Packet[] = [];
  closed = false;
  readonly #parser = mqttPacket.parser({ protocolVersion: 4 });
  constructor(port: number) {
    this.socket = connect({ port, host: "127.0.0.1" });
    this.#parser.on("packet", (p: mqttPacket.Packet) => this.packets.push(p));
    this.socket.on("data", (b) => this.#parser.parse(b));
    this.socket.on("error", () => {});
    this.socket.on("close", () => (this.closed = true));
  }
  write(...packets: (mqttPacket.Packet | Buffer)[]): void {
    this.socket.write(Buffer.concat(packets.map((p) => (Buffer.isBuffer(p) ? p : mqttPacket.generate(p)))));
  }
  /** CONNECT with these fields, or these bytes (what mqtt-packet refuses to write) */
  async connect(extra: Partial<mqttPacket.IConnectPacket> | Buffer = {}): Promise<mqttPacket.IConnackPacket> {
    if (Buffer.isBuffer(extra)) this.write(extra);
    else
      this.write({
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 4,
        clean: true,
        clientId: "raw",
        keepalive: 0,
        ...extra,
      });
    return (await waitFor(() => this.packets.find((p) => p.cmd === "connack"))) as mqttPacket.IConnackPacket;
  }
  acks(cmd = "puback"): number[] {
    return this.packets.filter((p) => p.cmd === cmd).map((p) => (p as mqttPacket.IPubackPacket).messageId!);
  }
  end(): void {
    this.socket.destroy();
  }
}

/** A PUBLISH packet (QoS 1 unless told). */
export const publish = (
  messageId: number,
  payload: string | Buffer,
  topic = "carbonproof/v1/f/d/readings",
  qos: 0 | 1 | 2 = 1,
) => ({ cmd: "publish", topic, payload, qos, messageId, dup: false, retain: false }) as mqttPacket.IPublishPacket;
