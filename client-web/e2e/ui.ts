import { expect, type Page } from '@playwright/test';
import type { TownhallServer } from './server';

export async function logIn(page: Page, server: TownhallServer, username: string, password = `${username}-password`) {
  await page.goto(server.url + '/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('navigation', { name: 'Conversations' })).toBeVisible();
}

export function roomLink(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: new RegExp(name) });
}

export async function openRoom(page: Page, name: string) {
  await roomLink(page, name).click();
  await expect(page.getByTestId('room-title')).toContainText(name);
}

export async function say(page: Page, text: string) {
  const box = page.getByTestId('composer');
  await box.fill(text);
  await box.press('Enter');
}

export function messages(page: Page) {
  return page.getByTestId('timeline').getByTestId('message-text');
}
