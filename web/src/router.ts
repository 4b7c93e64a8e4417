import { createRouter, createWebHistory } from 'vue-router';
import BuildersPage from './pages/BuildersPage.vue';
import DashboardPage from './pages/DashboardPage.vue';
import DerivationPage from './pages/DerivationPage.vue';
import NotFoundPage from './pages/NotFoundPage.vue';
import OutputPage from './pages/OutputPage.vue';
import ReportPage from './pages/ReportPage.vue';
import ReportsPage from './pages/ReportsPage.vue';
import SignInPage from './pages/SignInPage.vue';

/**
 * Every page has a deep link. `/reports/{name}` is lila's browser link, so the
 * server answers it with this app; the output and derivation pages use singular
 * paths so they never shadow lila's JSON routes.
 */
export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'dashboard', component: DashboardPage },
    { path: '/reports', name: 'reports', component: ReportsPage },
    { path: '/reports/:name', name: 'report', component: ReportPage, props: true },
    { path: '/output/:digestName', name: 'output', component: OutputPage, props: true },
    // Slashes allowed: a pasted `/nix/store/…drv` path is a derivation link too (DerivationPage makes it canonical).
    { path: '/derivation/:drvHash(.*)', name: 'derivation', component: DerivationPage, props: true },
    { path: '/builders', name: 'builders', component: BuildersPage },
    { path: '/sign-in', name: 'sign-in', component: SignInPage },
    { path: '/:unknown(.*)*', name: 'not-found', component: NotFoundPage },
  ],
});
