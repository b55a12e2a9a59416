// One SPA, two experiences: the device page at / (what a person sees after scanning the code) and
// the operator dashboard at /dashboard, loaded lazily so the device page's first JavaScript stays small.
import { StrictMode, Suspense, lazy } from 'react';
import { createRoot } from 'react-dom/client';
import { DevicePage } from './device/DevicePage';
import './styles.css';

const Dashboard = lazy(() => import('./dashboard/Dashboard'));

function App() {
  const path = location.pathname.replace(/\/+$/, '');
  if (path === '/dashboard') {
    return (
      <Suspense fallback={<p className="loading">Loading the dashboard…</p>}>
        <Dashboard />
      </Suspense>
    );
  }
  return <DevicePage />;
}

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
