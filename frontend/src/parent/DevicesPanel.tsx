import { useCallback, useEffect, useState } from "react";
import type { Api } from "../client/api";
import type { ChildRead, DeviceTokenRead, Schemas } from "../client/types";

export function DevicesPanel({ api, child }: { api: Api; child: ChildRead }) {
  const [devices, setDevices] = useState<DeviceTokenRead[]>([]);
  const [code, setCode] = useState<Schemas["PairingCodeCreated"] | null>(null);
  const refresh = useCallback(() => void api.listDevices(child.id).then(setDevices), [api, child.id]);
  useEffect(refresh, [refresh]);

  return (
    <section aria-labelledby="devices-title">
      <h3 id="devices-title">Reading devices</h3>
      <button type="button" onClick={() => void api.createPairingCode(child.id).then(setCode)}>
        Pair a reading app
      </button>
      {code && (
        <div className="pairing-code card">
          <p>
            Open StoryStream on {child.name}'s device and enter this code (it works once, until{" "}
            {new Date(code.expires_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}):
          </p>
          <p className="code" aria-label="Pairing code">
            {code.code}
          </p>
          <button type="button" onClick={() => { setCode(null); refresh(); }}>
            Done
          </button>
        </div>
      )}
      <ul className="list">
        {devices.map((device) => (
          <li key={device.id}>
            {device.label}, paired {new Date(device.created_at).toLocaleDateString()}
            {device.revoked_at ? (
              " (revoked)"
            ) : (
              <button type="button" onClick={() => void api.revokeDevice(child.id, device.id).then(refresh)}>
                Revoke {device.label}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
