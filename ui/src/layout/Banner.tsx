import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { getSystemConfig, type Banner } from '../api/config';
import { useApi } from '../api/context';

interface BannerState {
  banner: Banner | undefined;
  /** Shows a banner just saved, without reloading the configuration. */
  set: (b: Banner) => void;
}

const BannerContext = createContext<BannerState>({ banner: undefined, set: () => {} });

/**
 * Loads the banner of the system configuration once per signed-in layout.
 * A failure leaves the pages without a banner: they are still usable.
 */
export function BannerProvider({ children }: { children: ReactNode }) {
  const api = useApi();
  const [banner, setBanner] = useState<Banner>();
  useEffect(() => {
    const ctrl = new AbortController();
    getSystemConfig(api, ctrl.signal).then(
      (cfg) => setBanner(cfg.publicConfig.header),
      () => {},
    );
    return () => ctrl.abort();
  }, [api]);
  const value = useMemo(() => ({ banner, set: setBanner }), [banner]);
  return <BannerContext.Provider value={value}>{children}</BannerContext.Provider>;
}

export function useBanner(): BannerState {
  return useContext(BannerContext);
}

/** The configured banner, or nothing. */
export function BannerBar() {
  const { banner } = useBanner();
  if (!banner?.enabled || !banner.text) return null;
  return (
    <div className="stk-banner" role="note" aria-label="Banner" style={{ color: banner.color, backgroundColor: banner.backgroundColor }}>
      {banner.text}
    </div>
  );
}
