// The admin token: from the URL fragment (#token=..., never sent to a server or kept in logs),
// else from this tab's sessionStorage. The fragment is cleared once read.
const KEY = 'fedbit.adminToken';

export function initialToken(): string | null {
  const fragment = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fragment) {
    saveToken(fragment);
    history.replaceState(null, '', location.pathname + location.search);
    return fragment;
  }
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage disabled: the token lives as long as the page.
  }
}
