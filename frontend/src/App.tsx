import "@fontsource/atkinson-hyperlegible/400.css";
import "@fontsource/atkinson-hyperlegible/700.css";
import { usePath } from "./common/navigation";
import { ParentConsole } from "./parent/ParentConsole";
import { ReadingApp } from "./reading/ReadingApp";

export function App() {
  const path = usePath();
  return path.startsWith("/parent") ? <ParentConsole /> : <ReadingApp />;
}
