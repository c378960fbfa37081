import {
  Dropdown,
  DropdownItem,
  DropdownList,
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadLogo,
  MastheadMain,
  MastheadToggle,
  MenuToggle,
  Nav,
  NavExpandable,
  NavItem,
  Page,
  PageSidebar,
  PageSidebarBody,
  PageToggleButton,
  SkipToContent,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
} from '@patternfly/react-core';
import { css } from '@patternfly/react-styles';
import navStyles from '@patternfly/react-styles/css/components/Nav/nav';
import { BarsIcon, UserIcon } from '@patternfly/react-icons';
import { useState, type ComponentProps } from 'react';
import { Link, Outlet, useLocation } from 'react-router';
import { errorMessage } from '../api/client';
import { useAuth, useUser } from '../auth/AuthContext';
import { BannerBar, BannerProvider } from './Banner';
import { NAV, isActive, navTree } from './nav';

const MAIN_ID = 'main-content';

/** The brand links home through the router, without a page load. */
function HomeLink(props: ComponentProps<'a'>) {
  return <Link {...props} to="/" />;
}

function UserMenu() {
  const user = useUser();
  const { signOut } = useAuth();
  const [open, setOpen] = useState(false);
  const [failure, setFailure] = useState('');
  return (
    <Dropdown
      isOpen={open}
      onOpenChange={setOpen}
      popperProps={{ position: 'right' }}
      toggle={(ref) => (
        <MenuToggle
          ref={ref}
          variant="plainText"
          icon={<UserIcon />}
          onClick={() => setOpen((o) => !o)}
          isExpanded={open}
          aria-label={`User menu of ${user.userName}`}
        >
          {user.userName}
        </MenuToggle>
      )}
    >
      <DropdownList>
        <DropdownItem key="who" isDisabled description={`Role: ${user.role}${user.kind === 'token' ? ' (API token)' : ''}`}>
          Signed in as {user.userName}
        </DropdownItem>
        <DropdownItem
          key="logout"
          description={failure || undefined}
          onClick={() => {
            setFailure('');
            signOut().catch((err: unknown) => setFailure(`Sign-out failed: ${errorMessage(err)}`));
          }}
        >
          Log out
        </DropdownItem>
      </DropdownList>
    </Dropdown>
  );
}

/** The frame of every signed-in page: masthead, sidebar and the page. */
export function AppLayout() {
  const { pathname } = useLocation();
  const masthead = (
    <Masthead>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton isHamburgerButton aria-label="Show or hide the navigation">
            <BarsIcon />
          </PageToggleButton>
        </MastheadToggle>
        <MastheadBrand>
          <MastheadLogo component={HomeLink}>
            <span className="stk-brand">Stockade</span>
          </MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isFullHeight isStatic>
          <ToolbarContent>
            <ToolbarGroup align={{ default: 'alignEnd' }}>
              <ToolbarItem>
                <UserMenu />
              </ToolbarItem>
            </ToolbarGroup>
          </ToolbarContent>
        </Toolbar>
      </MastheadContent>
    </Masthead>
  );
  const sidebar = (
    <PageSidebar>
      <PageSidebarBody>
        <Nav aria-label="Stockade">
          {/* PatternFly's NavList markup: the component adds scroll buttons
              for horizontal navigation, measuring the layout on every
              update to place them; this one is vertical. */}
          <ul className={css(navStyles.navList)} role="list">
            {navTree(NAV).map((node) =>
              'entries' in node ? (
                <NavExpandable
                  key={node.group}
                  title={node.group}
                  buttonProps={{ id: `nav-${node.group.toLowerCase()}` }}
                  isActive={node.entries.some((e) => isActive(e, pathname))}
                  isExpanded
                >
                  {node.entries.map((entry) => (
                    <NavItem key={entry.path} isActive={isActive(entry, pathname)}>
                      <Link to={entry.path}>{entry.label}</Link>
                    </NavItem>
                  ))}
                </NavExpandable>
              ) : (
                <NavItem key={node.path} isActive={isActive(node, pathname)}>
                  <Link to={node.path}>{node.label}</Link>
                </NavItem>
              ),
            )}
          </ul>
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );
  return (
    <BannerProvider>
      <Page
        masthead={masthead}
        sidebar={sidebar}
        isManagedSidebar
        mainContainerId={MAIN_ID}
        banner={<BannerBar />}
        skipToContent={<SkipToContent href={`#${MAIN_ID}`}>Skip to content</SkipToContent>}
      >
        <Outlet />
      </Page>
    </BannerProvider>
  );
}
