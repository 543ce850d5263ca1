import { lazy, Suspense } from "react";
import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { useSession } from "./auth/session";
import { Layout } from "./components/Layout";
import { SignIn } from "./pages/SignIn";
import { Customers } from "./pages/Customers";
import { Customer360 } from "./pages/Customer360";
import { MyDay } from "./pages/MyDay";
import { ServiceDesk, TicketDetail } from "./pages/ServiceDesk";

// The charts (ECharts) load with the analysis page only, so the first page
// of the day comes up sooner on a tablet.
const Analysis = lazy(() => import("./pages/Analysis").then((m) => ({ default: m.Analysis })));

export function App() {
  const session = useSession();
  // Without a session every route shows the sign-in page and keeps its
  // URL, so a deep link works once signed in.
  if (!session) return <SignIn />;
  return (
    <BrowserRouter basename="/console">
      <Routes>
        <Route element={<Layout />}>
          <Route index element={<Navigate to="/my-day" replace />} />
          <Route path="customers" element={<Customers />} />
          <Route path="customers/:id" element={<Customer360 />} />
          <Route path="my-day" element={<MyDay />} />
          <Route path="desk" element={<ServiceDesk />} />
          <Route path="desk/tickets/:id" element={<TicketDetail />} />
          <Route
            path="analysis"
            element={
              <Suspense fallback={<p>…</p>}>
                <Analysis />
              </Suspense>
            }
          />
          <Route path="*" element={<Navigate to="/my-day" replace />} />
        </Route>
      </Routes>
    </BrowserRouter>
  );
}
