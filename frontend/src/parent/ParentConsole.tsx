import { useCallback, useEffect, useState } from "react";
import { ApiError } from "../client/api";
import type { ChildRead } from "../client/types";
import { useParentSession } from "../common/parentSession";
import { ChildForm } from "./ChildForm";
import { DevicesPanel } from "./DevicesPanel";
import { LibraryReview, WatchLive } from "./LibraryReview";
import { SignIn } from "./SignIn";
import { ThemesPanel } from "./ThemesPanel";

type Tab = "profile" | "themes" | "devices" | "library" | "live";
const TABS: [Tab, string][] = [
  ["profile", "Profile"],
  ["themes", "Themes"],
  ["devices", "Devices"],
  ["library", "Library"],
  ["live", "Watch live"],
];

export function ParentConsole() {
  const { api, signedIn, signIn, signOut } = useParentSession();
  const [email, setEmail] = useState<string | null>(null);
  const [children, setChildren] = useState<ChildRead[]>([]);
  const [selected, setSelected] = useState<number | null>(null);
  const [tab, setTab] = useState<Tab>("profile");
  const [adding, setAdding] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      const [me, list] = await Promise.all([api.me(), api.listChildren()]);
      setEmail(me.email);
      setChildren(list);
      setError(null);
    } catch (caught) {
      if (!(caught instanceof ApiError && caught.status === 401)) setError("StoryStream cannot be reached.");
    }
  }, [api]);

  useEffect(() => {
    if (signedIn) void reload();
  }, [signedIn, reload]);

  if (!signedIn) return <SignIn api={api} onSignIn={signIn} />;

  const child = children.find((item) => item.id === selected) ?? null;
  return (
    <div className="console">
      <header className="console-header">
        <p className="brand">StoryStream for parents</p>
        <p>
          {email && <span>Signed in as {email} </span>}
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </p>
      </header>
      <main className="page console-main">
        <h1>Your children</h1>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <ul className="child-list">
          {children.map((item) => (
            <li key={item.id}>
              <button
                type="button"
                aria-pressed={item.id === selected}
                onClick={() => {
                  setSelected(item.id);
                  setConfirmDelete(false);
                  setAdding(false);
                }}
              >
                {item.name}, {item.age}
              </button>
            </li>
          ))}
          <li>
            <button type="button" onClick={() => { setAdding(true); setSelected(null); }}>
              Add a child
            </button>
          </li>
        </ul>
        {adding && (
          <section className="card" aria-labelledby="add-child-title">
            <h2 id="add-child-title">Add a child</h2>
            <ChildForm
              submitLabel="Add child"
              onSave={async (body) => {
                const created = await api.createChild(body);
                await reload();
                setAdding(false);
                setSelected(created.id);
                setTab("themes");
              }}
            />
          </section>
        )}
        {child && (
          <section className="card child-detail" aria-labelledby="child-title">
            <h2 id="child-title">{child.name}</h2>
            <div role="tablist" aria-label={`${child.name}'s settings`} className="tabs">
              {TABS.map(([id, label]) => (
                <button key={id} role="tab" type="button" id={`tab-${id}`} aria-selected={tab === id} aria-controls="tab-panel" onClick={() => setTab(id)}>
                  {label}
                </button>
              ))}
            </div>
            <div role="tabpanel" id="tab-panel" aria-labelledby={`tab-${tab}`}>
              {tab === "profile" && (
                <>
                  <ChildForm
                    key={child.id}
                    child={child}
                    submitLabel="Save profile"
                    onSave={async (body) => {
                      await api.updateChild(child.id, body);
                      await reload();
                    }}
                  />
                  {confirmDelete ? (
                    <div className="confirm" role="alertdialog" aria-labelledby="confirm-title">
                      <p id="confirm-title">Delete {child.name} with every story and device? This cannot be undone.</p>
                      <button
                        type="button"
                        className="danger"
                        onClick={async () => {
                          await api.deleteChild(child.id);
                          setSelected(null);
                          setConfirmDelete(false);
                          await reload();
                        }}
                      >
                        Yes, delete {child.name}
                      </button>
                      <button type="button" onClick={() => setConfirmDelete(false)}>
                        Keep {child.name}
                      </button>
                    </div>
                  ) : (
                    <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
                      Delete {child.name}
                    </button>
                  )}
                </>
              )}
              {tab === "themes" && <ThemesPanel api={api} child={child} onChange={() => void reload()} />}
              {tab === "devices" && <DevicesPanel api={api} child={child} />}
              {tab === "library" && <LibraryReview api={api} child={child} />}
              {tab === "live" && <WatchLive api={api} child={child} />}
            </div>
          </section>
        )}
      </main>
    </div>
  );
}
